import { systemClock, type Clock } from '@gozon/core';
import type { ClaimedMessage, OutboxHold, OutboxLeadership, OutboxStore } from './outbox-store.js';
import type { MessagePublisher } from './publisher.js';
import { defaultRelayOptions, UnmarkedRows, type RelayOptions, type RelayStep } from './relay-outbox.js';

/**
 * A relay that holds its outbox alone (`OutboxHold`) and reads it without leases, so each row is
 * written once (the mark) instead of twice. Nothing but the hold keeps relays apart, so the relay
 * keeps its own batches apart: reads go one at a time, each after the last position read.
 */
export class HeldRelay implements RelayStep {
  private readonly unmarked = new UnmarkedRows();
  // The hold, the last position read, whether the next read starts again from the oldest row (to
  // take rows below it that commit late or were given back), when it last did, batches read and
  // not yet settled, and the read in progress.
  private leadership: OutboxLeadership | null = null;
  private after = 0;
  private rewind = true;
  private rewoundAt = 0;
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
      // Nothing to give back (the rows hold no lease); they lie behind `after` now, so read again from the oldest.
      this.rewind = true;
      throw err;
    } finally {
      this.inFlight -= 1;
      if (this.inFlight === 0) for (const resume of this.idle.splice(0)) resume();
    }
    this.unmarked.add(batch.map((row) => row.envelope.id));
    return batch.length;
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
    if (!this.leadership?.held) {
      this.leadership = await this.hold();
      this.rewind = true;
      if (!this.leadership) return [];
    }
    const leadership = this.leadership;
    await this.rewindWhenDue();
    const batch = await this.unmarked.markWith((confirmed) =>
      leadership.markAndRead(confirmed, this.after, this.options.batchSize),
    );
    if (batch.length < this.options.batchSize) this.rewind = true;
    const last = batch[batch.length - 1];
    if (last === undefined) return [];
    this.after = Math.max(this.after, last.position);
    this.inFlight += 1;
    return batch;
  }

  // A caught-up relay reads from the oldest row again, and so does a busy one every lease period:
  // rows can commit behind `after` (positions are taken before commit) or be given back there.
  // Only once the batches in flight are settled, which it would read a second time; and what is
  // confirmed is marked first, since the read does not see a mark made with it.
  private async rewindWhenDue(): Promise<void> {
    const now = this.clock.now().getTime();
    if (!this.rewind && now - this.rewoundAt < this.options.leaseMs) return;
    while (this.inFlight > 0) await new Promise<void>((resume) => this.idle.push(resume));
    await this.unmarked.mark(this.store);
    this.after = 0;
    this.rewind = false;
    this.rewoundAt = this.clock.now().getTime();
  }
}
