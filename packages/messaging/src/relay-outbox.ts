import type { ClaimedMessage, OutboxLeadership, OutboxStore } from './outbox-store.js';
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
  // With a store that can be led (`OutboxStore.lead`): the hold, the last position read, whether
  // the next read starts again from the oldest row (to take rows below it that commit late or whose
  // lease ran out), when it last did, batches read and not yet settled, and the read in progress
  // (reads go one at a time, so concurrent steps take disjoint batches).
  private leadership: OutboxLeadership | null = null;
  private after = 0;
  private rewind = true;
  private rewoundAt = 0;
  private inFlight = 0;
  private readonly idle: (() => void)[] = [];
  private reading: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: OutboxStore,
    private readonly publisher: MessagePublisher,
    private readonly options: RelayOptions = defaultRelayOptions,
  ) {}

  /** Publishes one batch; returns how many messages it published (0 when none waited). */
  async execute(): Promise<number> {
    if (this.store.lead) return this.executeLed();
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

  /** Marks every confirmed row not marked yet and gives up a hold on the outbox (before the relay stops). */
  async flush(): Promise<void> {
    await this.markUnmarked();
    const leadership = this.leadership;
    this.leadership = null;
    await leadership?.resign();
  }

  // A step as the outbox's only reader: no lease, so the relay itself keeps its batches apart.
  private async executeLed(): Promise<number> {
    const batch = await this.readInTurn();
    if (batch.length === 0) return 0;
    try {
      await this.publisher.publish(batch);
    } catch (err) {
      // Nothing to give back (the rows hold no lease); they lie behind `after` now, so read again from the oldest.
      this.rewind = true;
      throw err;
    } finally {
      this.inFlight -= 1;
      if (this.inFlight === 0) for (const resume of this.idle.splice(0)) resume();
    }
    for (const row of batch) this.unmarked.add(row.envelope.id);
    return batch.length;
  }

  private readInTurn(): Promise<ClaimedMessage[]> {
    const read = this.reading.then(() => this.read());
    this.reading = read.catch(() => undefined);
    return read;
  }

  private async read(): Promise<ClaimedMessage[]> {
    if (!this.leadership?.held) {
      this.leadership = (await this.store.lead?.()) ?? null;
      this.rewind = true;
      if (!this.leadership) return [];
    }
    // A caught-up relay reads from the oldest row again, and so does a busy one every lease
    // period: rows can commit behind `after` (positions are taken before commit) or be given
    // back there. Only once the batches in flight are settled, which it would read a second time;
    // and what is confirmed is marked first, since the read does not see a mark made with it.
    if (this.rewind || Date.now() - this.rewoundAt >= this.options.leaseMs) {
      while (this.inFlight > 0) await new Promise<void>((resume) => this.idle.push(resume));
      await this.markUnmarked();
      this.after = 0;
      this.rewind = false;
      this.rewoundAt = Date.now();
    }
    const confirmed = this.takeUnmarked();
    let batch: ClaimedMessage[];
    try {
      batch = await this.leadership.markAndRead(confirmed, this.after, this.options.batchSize);
    } catch (err) {
      for (const id of confirmed) this.unmarked.add(id);
      throw err;
    }
    if (batch.length < this.options.batchSize) this.rewind = true;
    const last = batch[batch.length - 1];
    if (last === undefined) return [];
    this.after = Math.max(this.after, last.position);
    this.inFlight += 1;
    return batch;
  }

  private async markUnmarked(): Promise<void> {
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
