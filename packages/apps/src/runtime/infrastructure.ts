import type { DeliveryCounter, MessagePublisher, MessageSubscriber } from '@gozon/messaging';
import type { SqlDatabase } from '@gozon/adapters/postgres';

/** What a service part runs on: storage, broker, and how to hear of outbox commits. */
export interface Infrastructure {
  readonly db: SqlDatabase;
  /** Names the storage adapter for the start-up line (never a URL with secrets). */
  readonly storage: string;
  readonly publisher: MessagePublisher;
  readonly subscriber: MessageSubscriber;
  /**
   * The subscriber with a poison guard counting redeliveries in `counter` (this service's
   * database); absent on the embedded bus, which has no redelivery to count.
   */
  readonly guardedSubscriber?: ((counter: DeliveryCounter) => MessageSubscriber) | undefined;
  readonly broker: string;
  /**
   * Whether a service publishes what a transaction appended to its outbox as soon as it commits
   * (`CommitDispatcher`), the relay taking only what that misses, rather than waking its relay.
   */
  readonly dispatchOnCommit?: boolean;
  /** True while the broker connection works. */
  brokerUp(): boolean;
  /** Calls `onNotify` after each commit that appended to the outbox; returns a stopper. */
  listen(onNotify: () => void): Promise<() => Promise<void>>;
  /** Tells `observer` of every message of `queue` that failed, and whether it will be retried or was dead-lettered. */
  observeFailures(queue: string, observer: FailureObserver): void;
  /** Messages waiting in a broker queue; absent on the embedded bus, which keeps no queue. */
  readonly queueDepth?: ((queue: string) => Promise<number>) | undefined;
  /** Releases what this part alone owns (its database; a shared broker is closed by its owner). */
  close(): Promise<void>;
}

/** What became of a message whose handler failed. */
export type FailureObserver = (action: 'retry' | 'dead-letter', err: unknown) => void;
