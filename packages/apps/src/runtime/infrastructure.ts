import type { MessagePublisher, MessageSubscriber } from '@gozon/core';
import type { SqlDatabase } from '@gozon/adapters/postgres';

/** What a service part runs on: storage, broker, and how to hear of outbox commits. */
export interface Infrastructure {
  readonly db: SqlDatabase;
  /** Names the storage adapter for the start-up line (never a URL with secrets). */
  readonly storage: string;
  readonly publisher: MessagePublisher;
  readonly subscriber: MessageSubscriber;
  readonly broker: string;
  /** True while the broker connection works. */
  brokerUp(): boolean;
  /** Calls `onNotify` after each commit that appended to the outbox; returns a stopper. */
  listen(onNotify: () => void): Promise<() => Promise<void>>;
  /** Releases what this part alone owns (its database; a shared broker is closed by its owner). */
  close(): Promise<void>;
}
