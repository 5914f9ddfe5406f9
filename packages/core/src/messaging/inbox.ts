/** The transactional inbox: which messages a consumer has already applied. */
export interface Inbox {
  /**
   * Records `messageId` as handled by `consumer` in the current transaction. Returns false if it
   * was recorded before, in which case the caller must change nothing. A concurrent transaction
   * recording the same id waits for this one and then sees it.
   */
  record(consumer: string, messageId: string): Promise<boolean>;
  /**
   * Optional: records several ids at once, as `record` would one after the other (a repeat within
   * the list is a repeat); true for each id seen for the first time. Batch consumers use it when
   * it is there, to spend one round trip on a whole batch instead of one per message.
   */
  recordAll?(consumer: string, messageIds: readonly string[]): Promise<boolean[]>;
}

/**
 * Records every id in `consumer`'s inbox, as `record` would one after the other (a repeat within
 * the list is a repeat): with one `recordAll` where the inbox has it. True for each id seen first.
 */
export const recordAll = async (inbox: Inbox, consumer: string, messageIds: readonly string[]): Promise<boolean[]> => {
  if (inbox.recordAll) return inbox.recordAll(consumer, messageIds);
  const fresh: boolean[] = [];
  for (const id of messageIds) fresh.push(await inbox.record(consumer, id));
  return fresh;
};
