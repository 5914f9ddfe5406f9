import { expect } from 'chai';
import { Boom, rejectionOf } from '../contract/index.js';
import { createTestDatabase, type TestDatabase } from '../testing/postgres.js';
import { PgDatabase, type SqlClient } from './index.js';

describe('postgres transactions', function () {
  this.timeout(30_000);
  let t: TestDatabase;
  before(async () => {
    t = await createTestDatabase('orders');
  });
  after(async () => {
    await t?.drop();
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
