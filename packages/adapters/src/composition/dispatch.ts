import {
  CommitDispatcher,
  defaultCommitDispatcherOptions,
  RelayLoop,
  type CommitDispatcherOptions,
  type MessagePublisher,
  type OutboxStore,
  type RelayLoopOptions,
  type RelayStep,
} from '@gozon/messaging';
import { announcedAppend, dispatchedAppend, type OutboxAppend } from '../postgres/outbox.js';

/**
 * How a service's messages leave its outbox, chosen once, when the service is composed: what a
 * transaction's append writes, and what runs beside the service to publish it. A relay is leased
 * (`LeasedRelay`, any number share an outbox) or held (`HeldRelay`, one alone on a Postgres
 * server); the strategy runs whichever step it is given.
 */
export interface DispatchStrategy {
  /** How a Postgres outbox writes what a transaction appends (the in-memory outbox always announces it). */
  readonly append: OutboxAppend;
  /** Asks the relay to look at the outbox now: a commit announced rows. */
  wake(): void;
  /** Starts what runs beside the service. */
  start(): void;
  /** Stops it, marking what it has published. */
  stop(): Promise<void>;
}

/**
 * The relay alone, woken by each commit that appended: on the embedded bus, which hands a message
 * to its consumer within publish, the relay's pace suits it.
 */
export class RelayAlone implements DispatchStrategy {
  readonly append = announcedAppend();
  private readonly relay: RelayLoop;

  constructor(step: RelayStep, loop: RelayLoopOptions) {
    this.relay = new RelayLoop(step, loop);
  }

  wake(): void {
    this.relay.wake();
  }

  start(): void {
    this.relay.start();
  }

  stop(): Promise<void> {
    return this.relay.stop();
  }
}

/**
 * Publish on commit, from memory (`CommitDispatcher`: rows appended already leased to it), with
 * the relay as the backstop taking only what that misses: one hop and one claim less per message
 * on a broker over the network.
 */
export class PublishOnCommit implements DispatchStrategy {
  readonly append: OutboxAppend;
  private readonly dispatcher: CommitDispatcher;
  private readonly relay: RelayLoop;

  constructor(
    store: OutboxStore,
    publisher: MessagePublisher,
    step: RelayStep,
    loop: RelayLoopOptions,
    options: Pick<CommitDispatcherOptions, 'onError'> = {},
  ) {
    this.relay = new RelayLoop(step, loop);
    this.dispatcher = new CommitDispatcher(store, publisher, {
      ...defaultCommitDispatcherOptions,
      ...options,
      // Rows given back after a failed publish are the relay's at once, wherever its reads had got to.
      onReleased: () => {
        step.rewind?.();
        this.relay.wake();
      },
    });
    this.append = dispatchedAppend(this.dispatcher);
  }

  wake(): void {
    this.relay.wake();
  }

  start(): void {
    this.relay.start();
  }

  async stop(): Promise<void> {
    await this.dispatcher.stop();
    await this.relay.stop();
  }
}
