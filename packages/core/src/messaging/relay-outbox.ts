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
 * broker confirmed it. The mark of a batch goes with the claim of the next (the loop comes back
 * at once after a batch), so a busy relay spends one statement per batch, not two; `flush` marks
 * what is left when the relay stops. A crash between publish and mark publishes the batch again
 * later; the consumers' inbox absorbs the repeat.
 */
export class RelayOutbox {
  // Rows the broker confirmed that are not marked yet: marked with the next claim. Kept when that
  // fails (the database went away meanwhile), so they are not left pending until their lease
  // runs out and then published a second time.
  private readonly unmarked = new Set<string>();

  constructor(
    private readonly store: OutboxStore,
    private readonly publisher: MessagePublisher,
    private readonly options: RelayOptions = defaultRelayOptions,
  ) {}

  /** Publishes one batch; returns how many messages it published (0 when none waited). */
  async execute(): Promise<number> {
    const confirmed = this.takeUnmarked();
    let batch: Awaited<ReturnType<OutboxStore['claim']>>;
    try {
      batch = await this.store.markAndClaim(confirmed, this.options.batchSize, this.options.leaseMs);
    } catch (err) {
      for (const id of confirmed) this.unmarked.add(id);
      throw err;
    }
    if (batch.length === 0) return 0;
    const ids = batch.map((row) => row.envelope.id);
    try {
      await this.publisher.publish(batch);
    } catch (err) {
      await this.store.release(ids).catch(() => undefined);
      throw err;
    }
    for (const id of ids) this.unmarked.add(id);
    return batch.length;
  }

  /** Marks every confirmed row not marked yet (before the relay stops). */
  async flush(): Promise<void> {
    const confirmed = this.takeUnmarked();
    if (confirmed.length === 0) return;
    try {
      await this.store.markPublished(confirmed);
    } catch (err) {
      for (const id of confirmed) this.unmarked.add(id);
      throw err;
    }
  }

  get batchSize(): number {
    return this.options.batchSize;
  }

  // Taken out while being marked, so a concurrent step does not mark them a second time.
  private takeUnmarked(): string[] {
    const ids = [...this.unmarked];
    this.unmarked.clear();
    return ids;
  }
}
