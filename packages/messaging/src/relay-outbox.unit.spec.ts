import { expect } from 'chai';
import type { OutgoingMessage } from '@gozon/core';
import type { ClaimedMessage, OutboxLeadership, OutboxStore } from './outbox-store.js';
import type { MessagePublisher } from './publisher.js';
import { RelayLoop } from './relay-loop.js';
import { HeldRelay } from './held-relay.js';
import { LeasedRelay } from './leased-relay.js';

/** A minimal outbox store: enough to watch the relay's claim → publish → mark order. */
class ListStore implements OutboxStore {
  readonly published = new Set<string>();
  readonly leased = new Set<string>();
  constructor(readonly rows: ClaimedMessage[]) {}
  async claim(limit: number): Promise<ClaimedMessage[]> {
    const free = this.rows.filter((r) => !this.published.has(r.envelope.id) && !this.leased.has(r.envelope.id));
    const batch = free.slice(0, limit);
    batch.forEach((r) => this.leased.add(r.envelope.id));
    return batch;
  }
  async markPublished(ids: readonly string[]): Promise<void> {
    ids.forEach((id) => this.published.add(id));
  }
  async markAndClaim(published: readonly string[], limit: number): Promise<ClaimedMessage[]> {
    published.forEach((id) => this.published.add(id));
    return this.claim(limit);
  }
  async release(ids: readonly string[]): Promise<void> {
    ids.forEach((id) => this.leased.delete(id));
  }
  async pending(): Promise<number> {
    return this.rows.length - this.published.size;
  }
}

/** A store one relay can hold alone: its reads lease nothing, and it counts each row's writes. */
class LedStore extends ListStore {
  holder: OutboxLeadership | null = null;
  readonly writes = new Map<string, number>();
  async lead(): Promise<OutboxLeadership | null> {
    if (this.holder?.held) return null;
    let held = true;
    const leadership: OutboxLeadership = {
      get held() {
        return held;
      },
      // Its cursor is the last position read: it cannot tell that nothing will appear behind it.
      markAndRead: async (published, from, limit) => {
        await this.markPublished(published);
        const after = from === null ? -Infinity : Number(from);
        const rows = this.rows
          .filter((r) => !this.published.has(r.envelope.id) && !this.leased.has(r.envelope.id) && r.position > after)
          .slice(0, limit);
        const last = rows[rows.length - 1];
        return { rows, next: last ? String(last.position) : from };
      },
      resign: async () => {
        held = false;
      },
    };
    return (this.holder = leadership);
  }
  override async markPublished(ids: readonly string[]): Promise<void> {
    for (const id of ids) this.writes.set(id, (this.writes.get(id) ?? 0) + 1);
    return super.markPublished(ids);
  }
  override async claim(): Promise<ClaimedMessage[]> {
    throw new Error('a led outbox is not claimed');
  }
}

const recording = (): MessagePublisher & { readonly sent: string[] } => {
  const sent: string[] = [];
  return {
    sent,
    publish: async (batch: readonly OutgoingMessage[]) => {
      await new Promise((r) => setTimeout(r, 1));
      sent.push(...batch.map((m) => m.envelope.id));
    },
  };
};

const rejectionOf = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => undefined,
    (err: unknown) => err,
  );

const row = (n: number): ClaimedMessage => ({
  position: n,
  attempts: 0,
  routingKey: 'order.payments',
  envelope: { id: `m${n}`, type: 't', correlationId: 'c', occurredAt: '', payload: {}, headers: {} },
});

describe('RelayOutbox', () => {
  it('publishes a batch in order and marks it only after the publish resolved, with the next claim', async () => {
    const store = new ListStore([1, 2, 3].map(row));
    const seen: string[][] = [];
    const publisher: MessagePublisher = {
      publish: async (batch: readonly OutgoingMessage[]) => {
        expect([...store.published]).to.deep.equal(seen.flat());
        seen.push(batch.map((m) => m.envelope.id));
      },
    };
    const calls: string[] = [];
    const { markPublished, markAndClaim } = store;
    store.markPublished = async (ids) => {
      calls.push(`mark [${ids.join(',')}]`);
      return markPublished.call(store, ids);
    };
    store.markAndClaim = async (ids, limit) => {
      calls.push(`mark [${ids.join(',')}] and claim`);
      return markAndClaim.call(store, ids, limit);
    };
    const relay = new LeasedRelay(store, publisher, { batchSize: 2, leaseMs: 1000 });
    expect(await relay.execute()).to.equal(2);
    expect(await relay.execute()).to.equal(1);
    expect(seen).to.deep.equal([['m1', 'm2'], ['m3']]);
    expect([...store.published]).to.deep.equal(['m1', 'm2']);
    await relay.flush();
    await relay.flush();
    expect([...store.published]).to.deep.equal(['m1', 'm2', 'm3']);
    // One call per batch; the last batch's mark waits for the next step, or for `flush`.
    expect(calls).to.deep.equal(['mark [] and claim', 'mark [m1,m2] and claim', 'mark [m3]']);
  });

  it('marks nothing and gives the batch back when the publish fails', async () => {
    const store = new ListStore([1, 2].map(row));
    const failing: MessagePublisher = { publish: async () => Promise.reject(new Error('nack')) };
    const relay = new LeasedRelay(store, failing, { batchSize: 10, leaseMs: 1000 });
    let error: unknown;
    await relay.execute().catch((err: unknown) => (error = err));
    expect(error).to.be.instanceOf(Error);
    expect(store.published.size).to.equal(0);
    expect(store.leased.size).to.equal(0);
  });

  it('marks a confirmed batch whose marking failed before claiming again, without publishing it twice', async () => {
    const store = new ListStore([1, 2, 3].map(row));
    const markAndClaim = store.markAndClaim.bind(store);
    let markFailures = 2;
    store.markAndClaim = async (ids, limit) => {
      if (ids.length > 0 && markFailures-- > 0) throw new Error('database went away');
      return markAndClaim(ids, limit);
    };
    const seen: string[] = [];
    const publisher: MessagePublisher = {
      publish: async (batch: readonly OutgoingMessage[]) => void seen.push(...batch.map((m) => m.envelope.id)),
    };
    const relay = new LeasedRelay(store, publisher, { batchSize: 2, leaseMs: 1000 });
    expect(await relay.execute()).to.equal(2);
    expect(await rejectionOf(relay.execute())).to.be.instanceOf(Error);
    // Still down: the confirmed rows stay remembered, and nothing new is claimed.
    expect(await rejectionOf(relay.execute())).to.be.instanceOf(Error);
    expect(seen).to.deep.equal(['m1', 'm2']);
    expect(await relay.execute()).to.equal(1);
    expect(await relay.execute()).to.equal(0);
    expect(seen).to.deep.equal(['m1', 'm2', 'm3']);
    expect([...store.published].sort()).to.deep.equal(['m1', 'm2', 'm3']);
  });

  it('keeps going with backoff in a loop until every row is out', async () => {
    const store = new ListStore(Array.from({ length: 25 }, (_, i) => row(i + 1)));
    let failures = 2;
    const publisher: MessagePublisher = {
      publish: async () => {
        if (failures-- > 0) throw new Error('broker away');
      },
    };
    const errors: unknown[] = [];
    const loop = new RelayLoop(new LeasedRelay(store, publisher, { batchSize: 10, leaseMs: 1000 }), {
      pollMs: 5,
      minBackoffMs: 1,
      maxBackoffMs: 4,
      onError: (err) => errors.push(err),
    });
    loop.start();
    const deadline = Date.now() + 2000;
    while (store.published.size < 25 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    await loop.stop();
    expect(store.published.size).to.equal(25);
    expect(errors).to.have.length(2);
  });

  describe('on a store it can hold alone', () => {
    it('reads without leasing, steps at once take disjoint batches, and each row is written once, after its publish', async () => {
      const store = new LedStore(Array.from({ length: 9 }, (_, i) => row(i + 1)));
      const publisher = recording();
      const relay = new HeldRelay(store, () => store.lead(), publisher, { batchSize: 2, leaseMs: 10_000 });
      await Promise.all(
        [1, 2, 3].map(async () => {
          while ((await relay.execute()) > 0);
        }),
      );
      await relay.flush();
      expect([...publisher.sent].sort()).to.deep.equal(store.rows.map((r) => r.envelope.id).sort());
      expect(publisher.sent).to.have.length(9);
      expect(store.leased.size).to.equal(0);
      expect([...store.writes.values()]).to.deep.equal(Array(9).fill(1));
      // flush gave the outbox up.
      expect(store.holder?.held).to.equal(false);
    });

    it('publishes nothing while another relay holds the outbox, and takes over once it is given up', async () => {
      const store = new LedStore([1, 2].map(row));
      const first = recording();
      const second = recording();
      const holder = new HeldRelay(store, () => store.lead(), first, { batchSize: 10, leaseMs: 10_000 });
      const other = new HeldRelay(store, () => store.lead(), second, { batchSize: 10, leaseMs: 10_000 });
      expect(await holder.execute()).to.equal(2);
      store.rows.push(row(3));
      expect(await other.execute()).to.equal(0);
      await holder.flush();
      expect(await other.execute()).to.equal(1);
      expect(first.sent).to.deep.equal(['m1', 'm2']);
      expect(second.sent).to.deep.equal(['m3']);
    });

    it('gives the outbox up for a quarter lease when a publish fails, so a relay whose broker answers takes over', async () => {
      const store = new LedStore([1, 2].map(row));
      let now = 0;
      const clock = { now: () => new Date(now) };
      const options = { batchSize: 10, leaseMs: 10_000 };
      const brokerAway: MessagePublisher = { publish: async () => Promise.reject(new Error('connection is down')) };
      const other = recording();
      const stuck = new HeldRelay(store, () => store.lead(), brokerAway, options, clock);
      const healthy = new HeldRelay(store, () => store.lead(), other, options, clock);
      expect(await rejectionOf(stuck.execute())).to.be.instanceOf(Error);
      // Still its hold until its next step, which gives it up instead of reading.
      expect(await healthy.execute()).to.equal(0);
      expect(await stuck.execute()).to.equal(0);
      expect(store.holder?.held).to.equal(false);
      expect(await healthy.execute()).to.equal(2);
      // Its quarter lease over, it asks again, but the outbox is held.
      now += 2_500;
      expect(await stuck.execute()).to.equal(0);
      expect(other.sent).to.deep.equal(['m1', 'm2']);
      await healthy.flush();
      expect([...store.published].sort()).to.deep.equal(['m1', 'm2']);
    });

    it('goes back for rows behind its cursor every quarter lease, after a failed publish and when asked', async () => {
      const store = new LedStore([1, 2, 4].map(row));
      let fail = false;
      const sent: string[] = [];
      const publisher: MessagePublisher = {
        publish: async (batch) => {
          if (fail) throw new Error('nack');
          sent.push(...batch.map((m) => m.envelope.id));
        },
      };
      let now = 0;
      const clock = { now: () => new Date(now) };
      const relay = new HeldRelay(store, () => store.lead(), publisher, { batchSize: 10, leaseMs: 10_000 }, clock);
      expect(await relay.execute()).to.equal(3);
      // Position 3 was taken before 4 but committed after it was read: found a quarter lease later.
      store.rows.splice(2, 0, row(3));
      expect(await relay.execute()).to.equal(0);
      now += 2_499;
      expect(await relay.execute()).to.equal(0);
      now += 1;
      expect(await relay.execute()).to.equal(1);
      store.rows.push(row(5));
      fail = true;
      expect(await rejectionOf(relay.execute())).to.be.instanceOf(Error);
      fail = false;
      // It gave the outbox up for a quarter lease, then reads from the oldest row again.
      expect(await relay.execute()).to.equal(0);
      now += 2_500;
      expect(await relay.execute()).to.equal(1);
      expect(await relay.execute()).to.equal(0);
      // Rows given back behind the cursor (a publish on commit failed): read at once when asked.
      store.rows.unshift(row(0));
      expect(await relay.execute()).to.equal(0);
      relay.rewind();
      expect(await relay.execute()).to.equal(1);
      expect(sent).to.deep.equal(['m1', 'm2', 'm4', 'm3', 'm5', 'm0']);
      await relay.flush();
      expect([...store.published].sort()).to.deep.equal(['m0', 'm1', 'm2', 'm3', 'm4', 'm5']);
    });
  });
});
