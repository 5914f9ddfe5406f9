import type { ClaimedMessage, OutboxStore } from './outbox-store.js';
import type { MessagePublisher } from './publisher.js';
import { defaultRelayOptions, UnmarkedRows, type RelayOptions, type RelayStep } from './relay-outbox.js';

/**
 * A relay that claims its batches with leases, so any number of them can share an outbox: the
 * claim of one batch marks the one before, and a relay that dies leaves its rows to be claimed
 * again once their lease runs out.
 */
export class LeasedRelay implements RelayStep {
  private readonly unmarked = new UnmarkedRows();

  constructor(
    private readonly store: OutboxStore,
    private readonly publisher: MessagePublisher,
    private readonly options: RelayOptions = defaultRelayOptions,
  ) {}

  get batchSize(): number {
    return this.options.batchSize;
  }

  async execute(): Promise<number> {
    const { batchSize, leaseMs } = this.options;
    const batch: ClaimedMessage[] = await this.unmarked.markWith((confirmed) =>
      this.store.markAndClaim(confirmed, batchSize, leaseMs),
    );
    if (batch.length === 0) return 0;
    const ids = batch.map((row) => row.envelope.id);
    try {
      await this.publisher.publish(batch);
    } catch (err) {
      await this.store.release(ids).catch(() => undefined);
      throw err;
    }
    this.unmarked.add(ids);
    return batch.length;
  }

  async flush(): Promise<void> {
    await this.unmarked.mark(this.store);
  }
}
