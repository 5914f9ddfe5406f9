import { expect } from 'chai';
import { Boom, rejectionOf } from '../contract/index.js';
import { createTestDatabase, type TestDatabase } from '../testing/postgres.js';
import type { Order } from '@gozon/core';
import { Account, loadAll, Money, OrderId, Payment, recordAll, UserId } from '@gozon/core';
import { CommitDispatcher } from '@gozon/messaging';
import { anOrder, aPaymentRequest, FIXED_NOW } from '../contract/fixtures.js';
import {
  ordersUnitOfWork,
  paymentsUnitOfWork,
  PgDatabase,
  PgOutboxStore,
  RolledBack,
  type SqlClient,
  type SqlDatabase,
  dispatchedAppend,
} from './index.js';

/** What a test sees of node-postgres's connection to count round trips on the wire. */
interface WireConnection {
  prependListener(event: 'readyForQuery', listener: () => void): void;
  stream: { write: (chunk: Buffer, ...rest: unknown[]) => boolean };
}

/** `db`, telling `seen` the first words of every statement it and its transactions send. */
/** A payment decided for a user without an account, for a new order. */
const aPaymentOfNobody = (): Payment =>
  Payment.decide({
    orderId: OrderId(globalThis.crypto.randomUUID()),
    userId: UserId('nobody'),
    amount: Money.amount(1),
    account: null,
    now: FIXED_NOW,
  });

const counting = (db: SqlDatabase, seen: string[]): SqlDatabase => {
  const note = (text: string) => seen.push(text.trim().split(/\s+/).slice(0, 2).join(' '));
  return {
    query: (text, params) => (note(text), db.query(text, params)),
    exec: (script) => db.exec(script),
    close: () => db.close(),
    transaction: (work) =>
      db.transaction((client) => {
        note('BEGIN');
        return work({
          query: (text, params) => (note(text), client.query(text, params)),
          exec: (script) => client.exec(script),
        }).then((result) => (note('COMMIT'), result));
      }),
  };
};

describe('postgres transactions', function () {
  this.timeout(30_000);
  let t: TestDatabase;
  before(async () => {
    t = await createTestDatabase('orders');
  });
  after(async () => {
    await t?.drop();
  });

  it('sends a unit of work that only writes as one statement, and one that reads first as BEGIN, reads, one write, COMMIT', async () => {
    const seen: string[] = [];
    const uow = ordersUnitOfWork(counting(t.db, seen));
    const order = anOrder({ amount: 5 });
    const request = aPaymentRequest();
    await uow.run(async (tx) => {
      await tx.orders.save(order);
      await tx.outbox.append(request);
    });
    expect(seen).to.deep.equal(['WITH w0']);
    seen.length = 0;
    await uow.run(async (tx) => {
      expect(await recordAll(tx.inbox, 'orders', [request.envelope.id, 'another'])).to.deep.equal([true, true]);
      const loaded = (await loadAll(tx.orders, [order.id])).get(order.id) as Order;
      loaded.finish(FIXED_NOW);
      await tx.orders.save(loaded);
      await tx.outbox.append(aPaymentRequest());
    });
    expect(seen).to.deep.equal(['BEGIN', 'INSERT INTO', 'SELECT id,', 'WITH w0', 'COMMIT']);
    const { rows } = await t.db.query<{ status: string }>('SELECT status FROM orders WHERE id = $1', [order.id]);
    expect(rows[0]?.status).to.equal('FINISHED');
  });

  it('sends a payment that only writes as one statement, and a charge as BEGIN, reads, one write, COMMIT', async () => {
    const payments = await createTestDatabase('payments');
    try {
      const seen: string[] = [];
      const uow = paymentsUnitOfWork(counting(payments.db, seen));
      await uow.run(async (tx) => tx.accounts.add(Account.open(UserId('payer'))));
      seen.length = 0;
      await uow.run((tx) => tx.payments.add(aPaymentOfNobody()));
      expect(seen).to.deep.equal(['WITH w0']);
      seen.length = 0;
      await uow.run(async (tx) => {
        const [, accounts] = await Promise.all([
          recordAll(tx.inbox, 'payments', ['a-charge']),
          loadAll(tx.accounts, [UserId('payer')]),
          loadAll(tx.payments, [OrderId(globalThis.crypto.randomUUID())]),
        ]);
        await tx.payments.add(aPaymentOfNobody());
        await tx.accounts.save(accounts.get(UserId('payer')) as Account);
        await tx.outbox.append(aPaymentRequest());
      });
      expect(seen).to.deep.equal(['BEGIN', 'INSERT INTO', 'SELECT user_id,', 'SELECT order_id,', 'WITH w0', 'COMMIT']);
    } finally {
      await payments.drop();
    }
  });

  it('sends a batch that reads then writes in two round trips: BEGIN with its reads, its writes with COMMIT', async () => {
    const db = PgDatabase.connect(t.url, { max: 1 });
    // Round trips, counted on the wire: each time the server has answered everything it was sent
    // (its last ReadyForQuery), the client waited for it once. Statements pipelined behind one
    // another share the wait.
    let roundTrips = 0;
    const watched = new WeakSet<object>();
    db.pool.on('acquire', (client) => {
      if (watched.has(client)) return;
      watched.add(client);
      const connection = (client as unknown as { connection: WireConnection }).connection;
      let awaiting = 0;
      // Heard before the client's own listener, which may send the next statement at once.
      connection.prependListener('readyForQuery', () => {
        awaiting -= 1;
        if (awaiting === 0) roundTrips += 1;
      });
      const write = connection.stream.write.bind(connection.stream);
      connection.stream.write = (chunk: Buffer, ...rest: unknown[]) => {
        // Frontend messages: a type byte, then a length that counts itself. A simple query ('Q')
        // and an extended one's Sync ('S') are each answered by one ReadyForQuery.
        for (let at = 0; at + 5 <= chunk.length; at += 1 + chunk.readInt32BE(at + 1)) {
          const type = String.fromCharCode(chunk[at] as number);
          if (type === 'Q' || type === 'S') awaiting += 1;
        }
        return write(chunk, ...rest);
      };
    });
    try {
      const uow = ordersUnitOfWork(db);
      const order = anOrder({ amount: 5 });
      await uow.run(async (tx) => tx.orders.save(order));
      roundTrips = 0;
      await uow.run(async (tx) => {
        const [fresh, orders] = await Promise.all([
          recordAll(tx.inbox, 'orders', ['pipelined-1']),
          loadAll(tx.orders, [order.id]),
        ]);
        expect(fresh).to.deep.equal([true]);
        const loaded = orders.get(order.id) as Order;
        loaded.finish(FIXED_NOW);
        await tx.orders.save(loaded);
        await tx.outbox.append(aPaymentRequest());
      });
      expect(roundTrips).to.equal(2);
      const { rows } = await t.db.query<{ status: string }>('SELECT status FROM orders WHERE id = $1', [order.id]);
      expect(rows[0]?.status).to.equal('FINISHED');
    } finally {
      await db.close();
    }
  });

  it('rolls back and reports the error of writes that fail with the COMMIT sent behind them', async () => {
    const payments = await createTestDatabase('payments');
    try {
      const uow = paymentsUnitOfWork(payments.db);
      const paid = aPaymentOfNobody();
      await uow.run((tx) => tx.payments.add(paid));
      const err = await rejectionOf(
        uow.run(async (tx) => {
          expect(await tx.inbox.record('payments', 'repeat-of-a-payment')).to.equal(true);
          await tx.payments.add(paid);
        }),
      );
      expect(err).to.include({ kind: 'conflict', code: 'payment_exists' });
      // The inbox record went with the rollback: the message is still to be handled.
      expect(await uow.run((tx) => tx.inbox.record('payments', 'repeat-of-a-payment'))).to.equal(true);
    } finally {
      await payments.drop();
    }
  });

  it('fails a COMMIT that Postgres answered with a rollback, when a failed statement went unheard', async () => {
    const err = await rejectionOf(
      t.db.transaction(async (client) => {
        await client.query('SELECT 1 / $1::int', [0]).catch(() => undefined);
      }),
    );
    expect(err).to.be.instanceOf(RolledBack);
  });

  it('refuses to save an account that does not exist, at the commit', async () => {
    const payments = await createTestDatabase('payments');
    try {
      const missing = aPaymentOfNobody();
      const err = await rejectionOf(
        paymentsUnitOfWork(payments.db).run(async (tx) => {
          await tx.payments.add(missing);
          await tx.accounts.save(Account.open(UserId('nobody')));
        }),
      );
      expect(String(err)).to.match(/does not exist/);
      const { rows } = await payments.db.query('SELECT 1 FROM payments');
      expect(rows).to.have.length(0);
    } finally {
      await payments.drop();
    }
  });

  it('with a dispatcher: publishes a committed message after the commit, its row leased meanwhile and marked after', async () => {
    const published: string[] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const store = new PgOutboxStore(t.db);
    const dispatcher = new CommitDispatcher(
      store,
      {
        publish: async (messages) => {
          await gate;
          published.push(...messages.map((m) => m.envelope.id));
        },
      },
      { leaseMs: 10_000, markDelayMs: 1 },
    );
    const uow = ordersUnitOfWork(t.db, { append: dispatchedAppend(dispatcher) });
    const kept = aPaymentRequest();
    const dropped = aPaymentRequest();
    await uow.run((tx) => tx.outbox.append(kept));
    await rejectionOf(
      uow.run(async (tx) => {
        await tx.outbox.append(dropped);
        throw new Boom();
      }),
    );
    // Leased to the dispatcher: no relay takes it while it is being published.
    const claimed = (await store.claim(100, 10_000)).map((c) => c.envelope.id);
    expect(claimed).to.not.include(kept.envelope.id);
    release();
    await dispatcher.stop();
    expect(published).to.deep.equal([kept.envelope.id]);
    const { rows } = await t.db.query<{ message_id: string; published: boolean }>(
      'SELECT message_id, published_at IS NOT NULL AS published FROM outbox WHERE message_id = ANY($1::text[])',
      [[kept.envelope.id, dropped.envelope.id]],
    );
    expect(rows).to.deep.equal([{ message_id: kept.envelope.id, published: true }]);
  });

  it('rolls back and frees the connection when the work fails while its first query is still beginning', async () => {
    const db = PgDatabase.connect(t.url, { max: 1 });
    try {
      const uow = ordersUnitOfWork(db);
      const attempt = uow.run(async (tx) => {
        void tx.inbox.record('orders', 'never-awaited').catch(() => undefined);
        throw new Boom();
      });
      expect(await rejectionOf(attempt)).to.be.instanceOf(Boom);
      // The one connection is free again, and nothing of the failed work was kept.
      expect(await uow.run((tx) => tx.inbox.record('orders', 'never-awaited'))).to.equal(true);
    } finally {
      await db.close();
    }
  });

  it('refuses a query on a transaction that has ended', async () => {
    let leaked: SqlClient | null = null;
    await t.db.transaction(async (client) => {
      leaked = client;
    });
    const err = await rejectionOf((leaked as unknown as SqlClient).query('SELECT 1'));
    expect(String(err)).to.match(/ended/);
  });

  it('holds one connection from BEGIN to COMMIT', async () => {
    const pids = await t.db.transaction(async (client) => {
      const seen: unknown[] = [];
      for (let i = 0; i < 3; i += 1)
        seen.push((await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid);
      return seen;
    });
    expect(new Set(pids).size).to.equal(1);
  });

  it("rethrows the work's error when the connection died mid-transaction, and the pool goes on", async () => {
    const db = PgDatabase.connect(t.url, { max: 1 });
    try {
      const attempt = db.transaction(async (client) => {
        // Kill our own backend: ROLLBACK then fails too, and the pool (one connection) must recover.
        await client.query('SELECT pg_terminate_backend(pg_backend_pid())').catch(() => undefined);
        throw new Boom();
      });
      expect(await rejectionOf(attempt)).to.be.instanceOf(Boom);
      const { rows } = await db.transaction((client) => client.query<{ ok: number }>('SELECT 1 AS ok'));
      expect(rows[0]?.ok).to.equal(1);
    } finally {
      await db.close();
    }
  });

  it('fails a statement unanswered within queryTimeoutMs, at once in a transaction, and the pool goes on; scripts wait', async () => {
    const db = PgDatabase.connect(t.url, { max: 1, queryTimeoutMs: 500 });
    try {
      let started = Date.now();
      expect(String(await rejectionOf(db.query('SELECT pg_sleep(2)')))).to.contain('Query read timeout');
      expect(Date.now() - started).to.be.lessThan(1_500);
      started = Date.now();
      const attempt = db.transaction((client) => client.query('SELECT pg_sleep(2)'));
      expect(String(await rejectionOf(attempt))).to.contain('Query read timeout');
      // No ROLLBACK queued behind the unanswered statement: the connection is discarded instead.
      expect(Date.now() - started).to.be.lessThan(900);
      const { rows } = await db.transaction((client) => client.query<{ ok: number }>('SELECT 1 AS ok'));
      expect(rows[0]?.ok).to.equal(1);
      await db.exec('SELECT pg_sleep(0.8); SELECT 1');
      await db.transaction((client) => client.exec('SELECT pg_sleep(0.8)'));
    } finally {
      await db.close();
    }
  });
});
