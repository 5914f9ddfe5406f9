import type { OutboxStore } from './outbox.js';
import type { MessagePublisher } from './publisher.js';

export interface RelayOptions {
  /** Rows claimed and published together. */
  readonly batchSize: number;
  /**
   * How long a claim lasts before another relay may take the rows. It bounds how long the rows of
   * a relay that died mid-batch wait; a publish slower than it is published twice (absorbed).
   */
  readonly leaseMs: number;
}

export const defaultRelayOptions: RelayOptions = { batchSize: 200, leaseMs: 10_000 };

/**
 * One step of the outbox relay: claim a batch, publish it, and mark it published only after the
 * broker confirmed it. A crash between publish and mark publishes the batch again later; the
 * consumers' inbox absorbs the repeat.
 */
export class RelayOutbox {
  // Rows the broker confirmed but whose marking failed (the database went away meanwhile). Marked
  // before the next claim, so the rows are not left pending until their lease runs out and then
  // published a second time.
  private readonly unmarked = new Set<string>();

  constructor(
    private readonly store: OutboxStore,
    private readonly publisher: MessagePublisher,
    private readonly options: RelayOptions = defaultRelayOptions,
  ) {}

  /** Publishes one batch; returns how many messages it published (0 when none waited). */
  async execute(): Promise<number> {
    if (this.unmarked.size > 0) {
      const confirmed = [...this.unmarked];
      await this.store.markPublished(confirmed);
      for (const id of confirmed) this.unmarked.delete(id);
    }
    const batch = await this.store.claim(this.options.batchSize, this.options.leaseMs);
    if (batch.length === 0) return 0;
    const ids = batch.map((row) => row.envelope.id);
    try {
      await this.publisher.publish(batch);
    } catch (err) {
      await this.store.release(ids).catch(() => undefined);
      throw err;
    }
    try {
      await this.store.markPublished(ids);
    } catch (err) {
      for (const id of ids) this.unmarked.add(id);
      throw err;
    }
    return batch.length;
  }

  get batchSize(): number {
    return this.options.batchSize;
  }
}
