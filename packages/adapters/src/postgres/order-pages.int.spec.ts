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

/** This connection's scans of the orders table so far: sequential ones, and entries read from orders_by_user. */
const scans = async (db: SqlDatabase): Promise<{ seq: number; indexRead: number }> => {
  await db.query('SELECT pg_stat_force_next_flush()');
  const { rows } = await db.query<{ seq: string; read: string }>(
    `SELECT t.seq_scan AS seq, i.idx_tup_read AS read FROM pg_stat_user_tables t
     JOIN pg_stat_user_indexes i ON i.relid = t.relid AND i.indexrelname = 'orders_by_user'
     WHERE t.relname = 'orders'`,
  );
  return { seq: Number(rows[0]?.seq), indexRead: Number(rows[0]?.read) };
};

/** `n` orders a microsecond apart, every `every`-th of `user` and the rest of a thousand others. */
const addOrders = (db: SqlDatabase, n: number, user: string, every = 1) =>
  db.query(
    `INSERT INTO orders (id, user_id, amount, status, created_at, updated_at)
     SELECT gen_random_uuid(), CASE WHEN g % $3::int = 0 THEN $1 ELSE 'other-' || (g % 1000) END, 1, 'NEW', t, t
     FROM generate_series(1, $2::int) AS g, LATERAL (SELECT now() - make_interval(secs => g / 1e6) AS t) AS i`,
    [user, n, every],
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

  /** The first and second page of `limit`, the entries of orders_by_user they read, and their plans. */
  const twoPages = async (queries: PgOrderQueries, seen: Statement[], limit: number) => {
    const user = UserId('pager');
    const before = await scans(db);
    const first = await queries.listByUser(user, { limit });
    const second = await queries.listByUser(user, { limit, after: first.next! });
    const after = await scans(db);
    const plans = [];
    for (const { text, params } of seen.slice(-2)) {
      const { rows } = await db.query<{ 'QUERY PLAN': [{ Plan: Record<string, unknown> }] }>(
        `EXPLAIN (FORMAT JSON) ${text}`,
        params,
      );
      plans.push({ text, resumes: params.length === 4, nodes: nodesOf(rows[0]!['QUERY PLAN'][0].Plan) });
    }
    const read = { seq: after.seq - before.seq, index: after.indexRead - before.indexRead };
    return { sizes: [first.orders.length, second.orders.length], read, plans };
  };

  /** Each page read its own entries along orders_by_user, and no more (one extra tells whether more follow). */
  const expectAlongTheIndex = ({ sizes, read, plans }: Awaited<ReturnType<typeof twoPages>>, limit: number) => {
    expect(sizes).to.deep.equal([limit, limit]);
    expect(read.seq, 'sequential scans').to.equal(0);
    // Never the user's 10,000 orders: neither OFFSET nor a sort of all of them.
    expect(read.index, 'index entries read').to.be.within(2 * limit, 2 * limit + 2);
    for (const { text, resumes, nodes } of plans) {
      const types = nodes.map((n) => n['Node Type']);
      expect(types, text).to.include('Index Scan').and.not.include('Seq Scan').and.not.include('Sort');
      const scan = nodes.find((n) => n['Node Type'] === 'Index Scan')!;
      expect(scan['Index Name']).to.equal('orders_by_user');
      // The position bounds the scan itself: entries before it are never read.
      if (resumes) expect(String(scan['Index Cond'])).to.match(/created_at/);
    }
  };

  it("reads a busy user's pages along the index, however young the table was when first listed, and once analyzed", async () => {
    const seen: Statement[] = [];
    const queries = new PgOrderQueries(recording(db, seen));
    await addOrders(db, 30, 'pager');
    // Past the five calls after which Postgres may keep a generic plan, on a table of one page.
    for (let i = 0; i < 10; i += 1) expect((await twoPages(queries, seen, 10)).sizes).to.deep.equal([10, 10]);
    // A busy day since, with no ANALYZE: 50,000 orders, 10,000 of them this user's.
    await addOrders(db, 50_000, 'pager', 5);
    expectAlongTheIndex(await twoPages(queries, seen, 10), 10);
    // As autovacuum leaves it: with statistics, pages of the default size too.
    await db.exec('ANALYZE orders');
    expectAlongTheIndex(await twoPages(queries, seen, 50), 50);
  });
});
