import { systemClock, type Clock } from '@gozon/core';
import type { ClaimedMessage, OutboxHold, OutboxLeadership, OutboxStore, ReadCursor } from './outbox-store.js';
import type { MessagePublisher } from './publisher.js';
import { defaultRelayOptions, UnmarkedRows, type RelayOptions, type RelayStep } from './relay-outbox.js';

/**
 * A relay that holds its outbox alone (`OutboxHold`) and reads it without leases, so each row is
 * written once (the mark) instead of twice. Nothing but the hold keeps relays apart, so the relay
 * keeps its own batches apart: reads go one at a time, each from where the last one left off
 * (`ReadCursor`). Rows can still turn up behind that point: given back after a failed publish
 * (`rewind`), or held by a lease that ran out; for those it reads from the oldest row again, at
 * once when asked and otherwise every quarter of a lease period.
 *
 * A relay whose publish fails gives the hold up, and does not ask for it again for a quarter of a
 * lease period: with several instances, another one's relay, whose broker may answer, takes the
 * outbox over, rather than every row waiting on the one instance that cannot publish.
 */
export class HeldRelay implements RelayStep {
  private readonly unmarked = new UnmarkedRows();
  // The hold, where the next read starts, whether it starts from the oldest row instead, when the
  // relay last did, batches read and not yet settled, and the read in progress.
  private leadership: OutboxLeadership | null = null;
  private from: ReadCursor = null;
  private fromOldest = true;
  private rewoundAt = 0;
  private standDownUntil = 0;
  private inFlight = 0;
  private readonly idle: (() => void)[] = [];
  private reading: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: OutboxStore,
    private readonly hold: OutboxHold,
    private readonly publisher: MessagePublisher,
    private readonly options: RelayOptions = defaultRelayOptions,
    private readonly clock: Clock = systemClock,
  ) {}

  get batchSize(): number {
    return this.options.batchSize;
  }

  async execute(): Promise<number> {
    const batch = await this.readInTurn();
    if (batch.length === 0) return 0;
    try {
      await this.publisher.publish(batch);
    } catch (err) {
      // Nothing to give back (the rows hold no lease); they lie behind the cursor now.
      this.rewind();
      this.standDownUntil = this.clock.now().getTime() + this.options.leaseMs / 4;
      throw err;
    } finally {
      this.inFlight -= 1;
      if (this.inFlight === 0) for (const resume of this.idle.splice(0)) resume();
    }
    this.unmarked.add(batch.map((row) => row.envelope.id));
    return batch.length;
  }

  rewind(): void {
    this.fromOldest = true;
  }

  async flush(): Promise<void> {
    await this.unmarked.mark(this.store);
    const leadership = this.leadership;
    this.leadership = null;
    await leadership?.resign();
  }

  private readInTurn(): Promise<ClaimedMessage[]> {
    const read = this.reading.then(() => this.read());
    this.reading = read.catch(() => undefined);
    return read;
  }

  private async read(): Promise<ClaimedMessage[]> {
    if (this.clock.now().getTime() < this.standDownUntil) {
      await this.resignWhenSettled();
      return [];
    }
    if (!this.leadership?.held) {
      this.leadership = await this.hold();
      this.rewind();
      if (!this.leadership) return [];
    }
    const leadership = this.leadership;
    await this.rewindWhenDue();
    const { rows, next } = await this.unmarked.markWith((confirmed) =>
      leadership.markAndRead(confirmed, this.from, this.options.batchSize),
    );
    this.from = next;
    if (rows.length === 0) return [];
    this.inFlight += 1;
    return rows;
  }

  // After a failed publish: once the batches in flight are settled (what they published is marked,
  // so the next holder does not send it again), the hold goes.
  private async resignWhenSettled(): Promise<void> {
    if (!this.leadership) return;
    await this.settled();
    await this.unmarked.mark(this.store);
    const leadership = this.leadership;
    this.leadership = null;
    await leadership?.resign();
  }

  private async settled(): Promise<void> {
    while (this.inFlight > 0) await new Promise<void>((resume) => this.idle.push(resume));
  }

  // From the oldest row when asked, and every quarter of a lease period: rows whose lease ran out
  // lie behind the cursor, and are taken within a quarter lease of running out. Only once the batches in flight are settled, which it would read a second time;
  // and what is confirmed is marked first, since the read does not see a mark made with it.
  private async rewindWhenDue(): Promise<void> {
    const now = this.clock.now().getTime();
    if (!this.fromOldest && now - this.rewoundAt < this.options.leaseMs / 4) return;
    await this.settled();
    await this.unmarked.mark(this.store);
    this.from = null;
    this.fromOldest = false;
    this.rewoundAt = this.clock.now().getTime();
  }
}
