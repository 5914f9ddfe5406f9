import { expect } from 'chai';
import { UserId } from '@gozon/core';
import { createTestDatabase, type TestDatabase } from '../testing/postgres.js';
import { describeMicrosecondPages } from './microsecond-pages.spec.helper.js';
import { PgDatabase } from './pg-database.js';
import { PgOrderQueries } from './queries.js';
import type { SqlDatabase } from './sql.js';

describeMicrosecondPages('postgres', async () => {
  const { db, drop } = await createTestDatabase('orders');
  const opened: SqlDatabase = {
    query: (text, params) => db.query(text, params),
    exec: (script) => db.exec(script),
    transaction: (work) => db.transaction(work),
    // Dropping the database closes its pool too.
    close: drop,
  };
  return opened;
});

interface Statement {
  readonly text: string;
  readonly params: readonly unknown[];
}

/** `db`, noting every statement run through it, so a test can ask Postgres how it plans them. */
const recording = (db: SqlDatabase, seen: Statement[]): SqlDatabase => ({
  query: (text, params) => {
    seen.push({ text, params: params ?? [] });
    return db.query(text, params);
  },
  exec: (script) => db.exec(script),
  transaction: (work) => db.transaction(work),
  close: () => db.close(),
});

const seqScans = async (db: SqlDatabase): Promise<number> => {
  await db.query('SELECT pg_stat_force_next_flush()');
  const { rows } = await db.query<{ n: string }>(
    "SELECT seq_scan AS n FROM pg_stat_user_tables WHERE relname = 'orders'",
  );
  return Number(rows[0]?.n);
};

/** `n` orders of `user` (or of a thousand others when null), a microsecond apart. */
const addOrders = (db: SqlDatabase, n: number, user: string | null) =>
  db.query(
    `INSERT INTO orders (id, user_id, amount, status, created_at, updated_at)
     SELECT gen_random_uuid(), coalesce($1, 'other-' || (g % 1000)), 1, 'NEW', t, t FROM generate_series(1, $2::int) AS g,
       LATERAL (SELECT now() - make_interval(secs => g / 1e6) AS t) AS i`,
    [user, n],
  );

/** The node types of a plan, and their index names and conditions. */
const nodesOf = (plan: Record<string, unknown>): Record<string, unknown>[] => [
  plan,
  ...((plan['Plans'] as Record<string, unknown>[] | undefined) ?? []).flatMap(nodesOf),
];

describe('order pages on postgres: along the index orders_by_user, never a sequential scan', function () {
  this.timeout(60_000);
  let database: TestDatabase;
  let db: PgDatabase;
  before(async () => {
    database = await createTestDatabase('orders');
    // One connection: the one a long-lived pool keeps, with whatever plans it made early on.
    db = PgDatabase.connect(database.url, { max: 1 });
    // Autovacuum's ANALYZE would make Postgres plan again and hide what this checks.
    await db.exec('ALTER TABLE orders SET (autovacuum_enabled = off)');
  });
  after(async () => {
    await db?.close();
    await database?.drop();
  });

  it('reads the first and the next page by index however young the table was when first listed', async () => {
    const user = UserId('pager');
    const seen: Statement[] = [];
    const queries = new PgOrderQueries(recording(db, seen));
    await addOrders(db, 30, user);
    const pageTwo = async () => {
      const first = await queries.listByUser(user, { limit: 10 });
      return queries.listByUser(user, { limit: 10, after: first.next! });
    };
    // Past the five calls after which Postgres may keep a generic plan, on a table of one page.
    for (let i = 0; i < 10; i += 1) expect((await pageTwo()).orders).to.have.length(10);
    await addOrders(db, 50_000, null);
    const before = await seqScans(db);
    expect((await pageTwo()).orders).to.have.length(10);
    expect(await seqScans(db), 'sequential scans of the grown table').to.equal(before);

    for (const { text, params } of seen.slice(-2)) {
      const { rows } = await db.query<{ 'QUERY PLAN': [{ Plan: Record<string, unknown> }] }>(
        `EXPLAIN (FORMAT JSON) ${text}`,
        params,
      );
      const nodes = nodesOf(rows[0]!['QUERY PLAN'][0].Plan);
      const types = nodes.map((n) => n['Node Type']);
      expect(types, text).to.include('Index Scan').and.not.include('Seq Scan').and.not.include('Sort');
      const scan = nodes.find((n) => n['Node Type'] === 'Index Scan')!;
      expect(scan['Index Name']).to.equal('orders_by_user');
      // The position bounds the scan itself: rows before it are never read, as OFFSET would read them.
      if (params.length === 4) expect(String(scan['Index Cond'])).to.match(/created_at/);
    }
  });
});
