import { expect } from 'chai';
import type { OutgoingMessage } from '@gozon/core';
import { CommitDispatcher } from './commit-dispatcher.js';
import type { ClaimedMessage, OutboxStore } from './outbox-store.js';
import type { MessagePublisher } from './publisher.js';

/** Records marks and releases; claims nothing (the dispatched rows are leased to the dispatcher). */
class RecordingStore implements OutboxStore {
  readonly marks: string[][] = [];
  readonly releases: string[][] = [];
  async claim(): Promise<ClaimedMessage[]> {
    return [];
  }
  async markPublished(ids: readonly string[]): Promise<void> {
    this.marks.push([...ids]);
  }
  async markAndClaim(published: readonly string[]): Promise<ClaimedMessage[]> {
    await this.markPublished(published);
    return [];
  }
  async release(ids: readonly string[]): Promise<void> {
    this.releases.push([...ids]);
  }
  async pending(): Promise<number> {
    return 0;
  }
}

/** Publishes into `batches`, or fails while `failing` is set. */
class RecordingPublisher implements MessagePublisher {
  readonly batches: string[][] = [];
  failing = false;
  async publish(messages: readonly OutgoingMessage[]): Promise<void> {
    if (this.failing) throw new Error('broker down');
    this.batches.push(messages.map((m) => m.envelope.id));
  }
}

const message = (id: string): OutgoingMessage => ({
  routingKey: 'order.payments',
  envelope: {
    id,
    type: 'payment.requested',
    correlationId: id,
    occurredAt: '2026-01-01T00:00:00.000Z',
    payload: {},
    headers: {},
  },
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('publishing on commit', () => {
  it('publishes what commits in one turn together, then marks it published in one go', async () => {
    const store = new RecordingStore();
    const publisher = new RecordingPublisher();
    const dispatcher = new CommitDispatcher(store, publisher, { leaseMs: 10_000, markDelayMs: 5 });
    dispatcher.dispatch([message('a')]);
    dispatcher.dispatch([message('b'), message('c')]);
    expect(publisher.batches).to.deep.equal([]);
    // The turn after the dispatcher's (a 1 ms timer may come first on a busy machine).
    await new Promise((resolve) => setImmediate(resolve));
    expect(publisher.batches).to.deep.equal([['a', 'b', 'c']]);
    dispatcher.dispatch([message('d')]);
    await sleep(20);
    expect(publisher.batches).to.deep.equal([['a', 'b', 'c'], ['d']]);
    expect(store.marks.flat().sort()).to.deep.equal(['a', 'b', 'c', 'd']);
    expect(store.releases).to.deep.equal([]);
  });

  it('gives the rows back to the relay at once when the publish fails, and marks nothing', async () => {
    const store = new RecordingStore();
    const publisher = new RecordingPublisher();
    const errors: unknown[] = [];
    let released = 0;
    const dispatcher = new CommitDispatcher(store, publisher, {
      leaseMs: 10_000,
      markDelayMs: 1,
      onError: (err) => errors.push(err),
      onReleased: () => (released += 1),
    });
    publisher.failing = true;
    dispatcher.dispatch([message('a'), message('b')]);
    await sleep(10);
    expect(store.releases).to.deep.equal([['a', 'b']]);
    expect(released).to.equal(1);
    expect(errors).to.have.length(1);
    expect(store.marks).to.deep.equal([]);
  });

  it('on stop publishes what is queued, marks what was confirmed and takes nothing more', async () => {
    const store = new RecordingStore();
    const publisher = new RecordingPublisher();
    const dispatcher = new CommitDispatcher(store, publisher, { leaseMs: 10_000, markDelayMs: 60_000 });
    dispatcher.dispatch([message('a')]);
    await dispatcher.stop();
    expect(publisher.batches).to.deep.equal([['a']]);
    expect(store.marks).to.deep.equal([['a']]);
    dispatcher.dispatch([message('late')]);
    await sleep(5);
    expect(publisher.batches).to.deep.equal([['a']]);
  });
});
