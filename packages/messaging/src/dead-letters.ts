import type { WireMessage } from './codec.js';

/** A message its consumer gave up on, kept whole so that a person can read it and replay it. */
export interface DeadLetter {
  /** The queue it was dead-lettered from, and will be replayed to. */
  readonly queue: string;
  /** The message exactly as it was delivered: properties (messageId and all) and body. */
  readonly message: WireMessage;
  /** Why it was given up on: the failure, `gave up after N attempts: …`, or poison. */
  readonly reason: string;
}

/** A dead letter as a store keeps it. */
export interface StoredDeadLetter extends DeadLetter {
  /** The store's own id for it (a message may be dead-lettered twice, so not its messageId). */
  readonly id: string;
  readonly deadLetteredAt: Date;
}

/**
 * Where a consumer without a broker of its own (the embedded bus) keeps its dead letters: in the
 * consuming service's database, so they outlive the process.
 */
export interface DeadLetterStore {
  /** Keeps `letter`; resolves once it is committed, so a crash right after loses nothing. */
  add(letter: DeadLetter): Promise<void>;
  /** Every dead letter kept, oldest first. */
  list(): Promise<StoredDeadLetter[]>;
  /** Removes the dead letter `id`; false when it was gone already. */
  remove(id: string): Promise<boolean>;
}
