import type { OutgoingMessage } from './envelope.js';

/** The transaction-bound side of the outbox: what a use case appends to. */
export interface Outbox {
  /** Stores `message` in the current transaction; it is published only after commit. */
  append(message: OutgoingMessage): Promise<void>;
}
