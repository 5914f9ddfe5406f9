import { expect } from 'chai';
import { type OutgoingMessage } from '@gozon/core';
import { HeldRelay, LeasedRelay, type MessagePublisher, type OutboxStore } from '@gozon/messaging';
import { aPaymentRequest, rejectionOf, sleep } from '../contract/index.js';
import { createTestDatabase, type TestDatabase } from '../testing/postgres.js';
import { ordersUnitOfWork, PgDatabase, PgOutboxStore, pgOutboxHold } from './index.js';

/** A broker stand-in that confirms everything and remembers what it was given, in order. */
class RecordingPublisher implements MessagePublisher {
  readonly sent: string[] = [];
  async publish(messages: readonly OutgoingMessage[]): Promise<void> {
    await sleep(1); // a round trip, so relays interleave
    for (const m of messages) this.sent.push(m.envelope.id);
  }
}

class Crash extends Error {}

/** The store as seen by a relay that dies after the broker confirmed and before it marks rows. */
const crashingBeforeMark = (store: OutboxStore): OutboxStore => ({
  claim: (limit, leaseMs) => store.claim(limit, leaseMs),
  markPublished: async () => {
    throw new Crash('the relay died before marking its batch');
  },
  markAndClaim: async (published, limit, leaseMs) => {
    if (published.length > 0) throw new Crash('the relay died before marking its batch');
    return store.claim(limit, leaseMs);
  },
  release: (ids) => store.release(ids),
  pending: () => store.pending(),
});

describe('postgres outbox under relays', function () {
  this.timeout(30_000);
  let t: TestDatabase;
  beforeEach(async () => {
    t = await createTestDatabase('orders');
  });
  afterEach(async () => {
    await t?.drop();
  });

  const append = async (count: number): Promise<string[]> => {
    const ids: string[] = [];
    const uow = ordersUnitOfWork(t.db);
    for (let i = 0; i < count; i += 10) {
      await uow.run(async (tx) => {
        for (let j = i; j < Math.min(count, i + 10); j += 1) {
          const message = aPaymentRequest();
          ids.push(message.envelope.id);
          await tx.outbox.append(message);
        }
      });
    }
    return ids;
  };

  it('two relays on separate pools publish every row exactly once between them', async () => {
    const appended = await append(120);
    const publishers = [new RecordingPublisher(), new RecordingPublisher()];
    const pools = publishers.map(() => PgDatabase.connect(t.url, { max: 2 }));
    try {
      const relays = publishers.map(
        (p, i) => new LeasedRelay(new PgOutboxStore(pools[i]!), p, { batchSize: 7, leaseMs: 30_000 }),
      );
      // Appends keep coming while both relays drain.
      const late = append(40);
      const drain = async (relay: LeasedRelay): Promise<void> => {
        let idle = 0;
        while (idle < 5) idle = (await relay.execute()) === 0 ? idle + 1 : 0;
      };
      await Promise.all([...relays.map(drain), late]);
      await Promise.all(relays.map(drain));
      const all = [...appended, ...(await late)];
      const sent = publishers.flatMap((p) => p.sent);
      expect(sent).to.have.length(all.length);
      expect([...sent].sort()).to.deep.equal([...all].sort());
      expect(publishers.every((p) => p.sent.length > 0)).to.equal(true, 'both relays took a share');
      expect(await new PgOutboxStore(t.db).pending()).to.equal(0);
    } finally {
      await Promise.all(pools.map((p) => p.close()));
    }
  });

  it('publishes a batch again after the lease when its relay died between publish and mark', async () => {
    const appended = await append(3);
    const wire = new RecordingPublisher();
    const store = new PgOutboxStore(t.db);
    const dying = new LeasedRelay(crashingBeforeMark(store), wire, { batchSize: 10, leaseMs: 300 });
    const survivor = new LeasedRelay(store, wire, { batchSize: 10, leaseMs: 30_000 });

    expect(await dying.execute()).to.equal(3);
    expect(await rejectionOf(dying.execute())).to.be.instanceOf(Crash);
    expect(wire.sent).to.deep.equal(appended);
    expect(await survivor.execute()).to.equal(0, 'the lease still holds');
    await sleep(450);
    expect(await survivor.execute()).to.equal(3);
    // The duplicate on the wire that the consumers' inbox must absorb.
    expect(wire.sent).to.deep.equal([...appended, ...appended]);
    expect(await survivor.execute()).to.equal(0);
    expect(await store.pending()).to.equal(0);
  });

  it('counts the attempts of a row claimed again', async () => {
    const [id] = await append(1);
    const store = new PgOutboxStore(t.db);
    expect((await store.claim(10, 50)).map((c) => [c.envelope.id, c.attempts])).to.deep.equal([[id, 0]]);
    await sleep(120);
    expect((await store.claim(10, 50)).map((c) => c.attempts)).to.deep.equal([1]);
    await store.release([id!]);
    expect((await store.claim(10, 50)).map((c) => c.attempts)).to.deep.equal([2]);
  });

  describe('held alone (an advisory lock)', () => {
    it('is held by one session at a time, and free again once given up or once its session ends', async () => {
      const pools = [PgDatabase.connect(t.url, { max: 1 }), PgDatabase.connect(t.url, { max: 1 })];
      try {
        const [a, b] = pools.map((pool) => pgOutboxHold(pool));
        const first = await a!();
        expect(first?.held).to.equal(true);
        expect(await b!()).to.equal(null);
        await first!.resign();
        const second = await b!();
        expect(second?.held).to.equal(true);
        // The session that holds it is killed, as when its process or connection dies.
        await t.db.query(
          `SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND database =
             (SELECT oid FROM pg_database WHERE datname = current_database()) AND granted`,
        );
        const deadline = Date.now() + 5_000;
        while (second!.held && Date.now() < deadline) await sleep(20);
        expect(second!.held).to.equal(false);
        const third = await a!();
        expect(third?.held).to.equal(true);
        await third!.resign();
      } finally {
        await Promise.all(pools.map((p) => p.close()));
      }
    });

    it('two relays publish every row exactly once, and each row is written once: marked, never leased', async () => {
      const appended = await append(120);
      const publishers = [new RecordingPublisher(), new RecordingPublisher()];
      const pools = publishers.map(() => PgDatabase.connect(t.url, { max: 2 }));
      try {
        const relays = publishers.map(
          (p, i) =>
            new HeldRelay(new PgOutboxStore(pools[i]!), pgOutboxHold(pools[i]!), p, { batchSize: 7, leaseMs: 30_000 }),
        );
        await Promise.all(
          relays.flatMap((relay) =>
            [1, 2].map(async () => {
              while ((await relay.execute()) > 0);
            }),
          ),
        );
        await Promise.all(relays.map((relay) => relay.flush()));
        const sent = publishers.flatMap((p) => p.sent);
        expect(sent.length).to.equal(appended.length);
        expect(new Set(sent)).to.deep.equal(new Set(appended));
        const { rows } = await t.db.query<{ n: unknown }>(
          `SELECT count(*) AS n FROM outbox WHERE published_at IS NOT NULL AND leased_until = '-infinity' AND attempts = 0`,
        );
        expect(Number(rows[0]?.n)).to.equal(appended.length);
      } finally {
        await Promise.all(pools.map((p) => p.close()));
      }
    });

    it('gives the outbox up when its broker fails it, so the relay of a process whose broker answers publishes', async () => {
      const appended = await append(30);
      const healthy = new RecordingPublisher();
      const brokerAway: MessagePublisher = {
        publish: async () => Promise.reject(new Error('RabbitMQ connection is down')),
      };
      const pools = [PgDatabase.connect(t.url, { max: 2 }), PgDatabase.connect(t.url, { max: 2 })];
      const options = { batchSize: 10, leaseMs: 400 };
      const [stuck, other] = [brokerAway, healthy].map(
        (publisher, i) => new HeldRelay(new PgOutboxStore(pools[i]!), pgOutboxHold(pools[i]!), publisher, options),
      );
      try {
        expect(await rejectionOf(stuck!.execute())).to.be.instanceOf(Error);
        expect(await other!.execute()).to.equal(0); // still held
        // Its next step, as its loop backs off and tries again, gives the hold up instead of reading.
        expect(await stuck!.execute()).to.equal(0);
        while ((await other!.execute()) > 0);
        expect(healthy.sent).to.deep.equal(appended);
        // A quarter lease on, it asks for the outbox again, and finds it held.
        await sleep(150);
        expect(await stuck!.execute()).to.equal(0);
      } finally {
        await Promise.all([stuck!.flush(), other!.flush()]);
        await Promise.all(pools.map((p) => p.close()));
      }
      const { rows } = await t.db.query<{ n: unknown }>(`SELECT count(*) AS n FROM outbox WHERE published_at IS NULL`);
      expect(Number(rows[0]?.n)).to.equal(0);
    });

    it('leaves rows a committing process holds to it, and takes them within a quarter lease of their running out', async () => {
      const [held] = await append(1);
      await t.db.query(`UPDATE outbox SET leased_until = now() + interval '300 milliseconds' WHERE message_id = $1`, [
        held,
      ]);
      const free = await append(2);
      const publisher = new RecordingPublisher();
      const relay = new HeldRelay(new PgOutboxStore(t.db), pgOutboxHold(t.db), publisher, {
        batchSize: 10,
        leaseMs: 300,
      });
      try {
        while ((await relay.execute()) > 0);
        expect(publisher.sent).to.deep.equal(free);
        await sleep(400);
        while ((await relay.execute()) > 0);
        expect(publisher.sent).to.deep.equal([...free, held]);
      } finally {
        await relay.flush();
      }
    });

    it('publishes rows in the order their transactions began, holding back those behind one still open, with no re-read', async () => {
      const db = PgDatabase.connect(t.url, { max: 1 });
      const open = PgDatabase.connect(t.url, { max: 1 });
      const publisher = new RecordingPublisher();
      // No re-read from the oldest row within the test: only the cursor can find the late row.
      const relay = new HeldRelay(new PgOutboxStore(db), pgOutboxHold(db), publisher, {
        batchSize: 10,
        leaseMs: 60_000,
      });
      try {
        let commitLate!: () => void;
        let appended!: () => void;
        // Takes its position (and transaction id) first and commits last.
        const lateTransaction = open.transaction(async (client) => {
          await client.query(
            `INSERT INTO outbox (message_id, routing_key, type, correlation_id, occurred_at, payload)
             VALUES ('late', 'order.payments', 't', 'c', now(), '{}')`,
            [],
          );
          appended();
          await new Promise<void>((resolve) => (commitLate = resolve));
        });
        await new Promise<void>((resolve) => (appended = resolve));
        const early = await append(2);
        expect(await relay.execute()).to.equal(0);
        commitLate();
        await lateTransaction;
        expect(await relay.execute()).to.equal(3);
        expect(publisher.sent).to.deep.equal(['late', ...early]);
        expect(await relay.execute()).to.equal(0);
      } finally {
        await relay.flush();
        await Promise.all([db.close(), open.close()]);
      }
    });

    it('reads on from where it left off: an empty read walks no index entry of the rows it published', async () => {
      const db = PgDatabase.connect(t.url, { max: 1 });
      const relay = new HeldRelay(new PgOutboxStore(db), pgOutboxHold(db), new RecordingPublisher(), {
        batchSize: 50,
        leaseMs: 60_000,
      });
      const entriesRead = async (): Promise<number> => {
        await db.query('SELECT pg_stat_force_next_flush()');
        const { rows } = await db.query<{ n: string }>(
          `SELECT coalesce(sum(idx_tup_read), 0) AS n FROM pg_stat_user_indexes WHERE relname = 'outbox'`,
        );
        return Number(rows[0]?.n);
      };
      try {
        await t.db.exec('ALTER TABLE outbox SET (autovacuum_enabled = off)');
        await append(500);
        while ((await relay.execute()) > 0);
        // Marks the last batch with an empty read.
        expect(await relay.execute()).to.equal(0);
        const before = await entriesRead();
        for (let i = 0; i < 20; i += 1) expect(await relay.execute()).to.equal(0);
        expect(await entriesRead()).to.be.below(before + 20);
      } finally {
        await relay.flush();
        await db.close();
      }
    });
  });
});
