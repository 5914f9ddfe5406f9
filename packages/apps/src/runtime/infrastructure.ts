import type {
  DeadLetterStore,
  DeliveryCounter,
  MessagePublisher,
  MessageSubscriber,
  OutboxStore,
  RelayLoopOptions,
  RelayOptions,
  RelayStep,
} from '@gozon/messaging';
import type { DispatchStrategy } from '@gozon/adapters/composition';
import type { SqlDatabase } from '@gozon/adapters/postgres';

/** What a service part runs on: storage, broker, and how to hear of outbox commits. */
export interface Infrastructure {
  readonly db: SqlDatabase;
  /** Names the storage adapter for the start-up line (never a URL with secrets). */
  readonly storage: string;
  readonly publisher: MessagePublisher;
  readonly subscriber: MessageSubscriber;
  /**
   * The subscriber as one service consumes: its poison guard counting in `stores.counter`, and
   * on the embedded bus its dead letters kept in `stores.deadLetters` (RabbitMQ has its DLQs).
   */
  readonly guardedSubscriber?: ((stores: ConsumerStores) => MessageSubscriber) | undefined;
  readonly broker: string;
  /** The relay step its storage allows: held alone on a Postgres server, leased on the embedded one. */
  relay(store: OutboxStore, publisher: MessagePublisher, options: RelayOptions): RelayStep;
  /** How its messages leave the outbox, as its broker suits (see `Broker.dispatch`). */
  dispatch(parts: DispatchParts): DispatchStrategy;
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

/** What a service's consumer keeps in the service's own database. */
export interface ConsumerStores {
  readonly counter: DeliveryCounter;
  readonly deadLetters: DeadLetterStore;
}

/** What a dispatch strategy is made of. */
export interface DispatchParts {
  readonly store: OutboxStore;
  readonly publisher: MessagePublisher;
  readonly step: RelayStep;
  readonly loop: RelayLoopOptions;
}

/** What became of a message whose handler failed. */
export type FailureObserver = (action: 'retry' | 'dead-letter', err: unknown) => void;
