/** The transactional inbox: which messages a consumer has already applied. */
export interface Inbox {
  /**
   * Records `messageId` as handled by `consumer` in the current transaction. Returns false if it
   * was recorded before, in which case the caller must change nothing. A concurrent transaction
   * recording the same id waits for this one and then sees it.
   */
  record(consumer: string, messageId: string): Promise<boolean>;
}
