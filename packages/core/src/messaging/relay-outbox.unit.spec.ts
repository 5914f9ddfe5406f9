import { expect } from 'chai';
import type { OutgoingMessage } from './envelope.js';
import type { ClaimedMessage, OutboxStore } from './outbox.js';
import type { MessagePublisher } from './publisher.js';
import { RelayLoop } from './relay-loop.js';
import { RelayOutbox } from './relay-outbox.js';

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
    const relay = new RelayOutbox(store, publisher, { batchSize: 2, leaseMs: 1000 });
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
    const relay = new RelayOutbox(store, failing, { batchSize: 10, leaseMs: 1000 });
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
    const relay = new RelayOutbox(store, publisher, { batchSize: 2, leaseMs: 1000 });
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
    const loop = new RelayLoop(new RelayOutbox(store, publisher, { batchSize: 10, leaseMs: 1000 }), {
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
});
