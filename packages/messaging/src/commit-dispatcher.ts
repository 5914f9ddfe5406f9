import type { OutgoingMessage } from '@gozon/core';
import type { OutboxStore } from './outbox-store.js';
import type { MessagePublisher } from './publisher.js';

export interface CommitDispatcherOptions {
  /**
   * How long the rows of a dispatched message stay leased to this process (set when they are
   * appended): the relay leaves them alone meanwhile and takes them once it runs out, if this
   * process died before marking them.
   */
  readonly leaseMs: number;
  /**
   * How long confirmed messages wait to be marked published together, in one statement. Anything
   * well inside `leaseMs` is safe (the relay leaves leased rows alone); until then they count as
   * pending in the outbox's metrics, so it stays short.
   */
  readonly markDelayMs: number;
  /** Told of a failed publish or mark (the relay then takes the rows: nothing is lost). */
  readonly onError?: (err: unknown) => void;
  /** Told when rows were given back to the relay after a failed publish (e.g. to wake it). */
  readonly onReleased?: () => void;
}

// After the I/O callbacks of this turn (the commits that completed together), where the runtime has it.
const later: (fn: () => void) => void = globalThis.setImmediate ?? ((fn) => setTimeout(fn, 0));

export const defaultCommitDispatcherOptions: CommitDispatcherOptions = { leaseMs: 10_000, markDelayMs: 20 };

/**
 * Publishes what a transaction appended to the outbox as soon as it has committed, instead of
 * waiting for the relay to be woken and claim it: one hop and one claim less per message. The
 * outbox stays the source of truth: the rows are appended already leased (`leaseMs`), published
 * from memory after the commit (the messages that commit in the same turn of the event loop go
 * together), marked published once the broker confirmed them (a few batches at once), and given
 * back to the relay at once if the publish fails. A process that dies in between leaves its rows
 * to the relay when their lease runs out: published twice at worst, which the inbox absorbs.
 */
export class CommitDispatcher {
  private queued: OutgoingMessage[] = [];
  private confirmed: string[] = [];
  private markTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private stopped = false;

  constructor(
    private readonly store: OutboxStore,
    private readonly publisher: MessagePublisher,
    readonly options: CommitDispatcherOptions = defaultCommitDispatcherOptions,
  ) {}

  /** Takes messages whose transaction has just committed; never throws. */
  dispatch(messages: readonly OutgoingMessage[]): void {
    if (messages.length === 0) return;
    // Once stopped, the relay takes them when their lease runs out.
    if (this.stopped) return;
    if (this.queued.length === 0) later(() => this.publishQueued());
    this.queued.push(...messages);
  }

  /**
   * Publishes what is queued, waits up to `waitMs` for what is in flight and marks what was
   * confirmed. What is still unconfirmed then is left to the relay (its rows' lease runs out).
   */
  async stop(waitMs = 5_000): Promise<void> {
    this.publishQueued();
    this.stopped = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)));
    await Promise.race([Promise.allSettled([...this.inFlight]), deadline]);
    clearTimeout(timer);
    await this.mark();
  }

  private publishQueued(): void {
    const batch = this.queued;
    if (batch.length === 0) return;
    this.queued = [];
    const ids = batch.map((message) => message.envelope.id);
    const sending = this.publisher.publish(batch).then(
      () => {
        this.confirmed.push(...ids);
        this.markTimer ??= setTimeout(() => void this.mark(), this.options.markDelayMs);
      },
      async (err: unknown) => {
        this.options.onError?.(err);
        await this.store.release(ids).then(
          () => this.options.onReleased?.(),
          (releaseError: unknown) => this.options.onError?.(releaseError),
        );
      },
    );
    this.inFlight.add(sending);
    void sending.finally(() => this.inFlight.delete(sending));
  }

  private async mark(): Promise<void> {
    clearTimeout(this.markTimer);
    this.markTimer = undefined;
    const ids = this.confirmed;
    if (ids.length === 0) return;
    this.confirmed = [];
    // Unmarked, they would be published again when their lease runs out: harmless but avoidable.
    await this.store.markPublished(ids).catch((err: unknown) => this.options.onError?.(err));
  }
}
