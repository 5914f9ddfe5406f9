import { expect } from 'chai';
import { loadAll, OrderId } from '@gozon/core';
import { createTestDatabase } from '../testing/postgres.js';
import { ordersUnitOfWork, PgDatabase, PgOutboxStore, pgOutboxHold, type SqlDatabase } from './index.js';

/** The table's sequential scans so far, this connection's own included (it flushes them first). */
const seqScans = async (db: SqlDatabase, table: string): Promise<number> => {
  await db.query('SELECT pg_stat_force_next_flush()');
  const { rows } = await db.query<{ n: string }>('SELECT seq_scan AS n FROM pg_stat_user_tables WHERE relname = $1', [
    table,
  ]);
  return Number(rows[0]?.n);
};

/** `n` new rows of `table`, their keys returned. */
const rowsOf = {
  orders: (n: number) =>
    `INSERT INTO orders (id, user_id, amount, status, created_at, updated_at)
     SELECT gen_random_uuid(), 'u', 1, 'NEW', now(), now() FROM generate_series(1, ${n}) RETURNING id::text AS id`,
  outbox: (n: number) =>
    `INSERT INTO outbox (message_id, routing_key, type, correlation_id, occurred_at, payload)
     SELECT gen_random_uuid()::text, 'k', 't', 'c', now(), '{}' FROM generate_series(1, ${n}) RETURNING message_id AS id`,
};

const insert = async (db: SqlDatabase, sql: string): Promise<string[]> =>
  (await db.query<{ id: string }>(sql, [])).rows.map((r) => r.id);

interface Lookup {
  readonly table: keyof typeof rowsOf;
  /** Looks `keys` up as the adapter does; resolves how many it found or touched. */
  lookUp(db: SqlDatabase, keys: string[]): Promise<number>;
}

const lookups: Record<string, Lookup> = {
  'orders by id (outcomes applied)': {
    table: 'orders',
    lookUp: (db, keys) =>
      ordersUnitOfWork(db).run(async (tx) => {
        const ids = keys.map((k) => OrderId(k));
        return (await loadAll(tx.orders, ids)).size;
      }),
  },
  'outbox rows by message id (marked published)': {
    table: 'outbox',
    lookUp: async (db, keys) => {
      await new PgOutboxStore(db).markPublished(keys);
      return keys.length;
    },
  },
  'outbox rows marked, and the next ones claimed (relays that share the outbox)': {
    table: 'outbox',
    lookUp: async (db, keys) => {
      await new PgOutboxStore(db).markAndClaim(keys, 10, 1);
      return keys.length;
    },
  },
  'outbox rows marked, and the next ones read (the relay that holds the outbox)': {
    table: 'outbox',
    lookUp: async (db, keys) => {
      const leadership = await pgOutboxHold(db as PgDatabase)();
      try {
        const { rows } = await db.query<{ xid: string; position: string }>(
          'SELECT xid::text AS xid, position FROM outbox WHERE published_at IS NULL ORDER BY xid DESC, position DESC OFFSET 5 LIMIT 1',
          [],
        );
        const from = rows[0] ? `${rows[0].xid}:${rows[0].position}` : null;
        await leadership!.markAndRead(keys, from, 10);
      } finally {
        await leadership!.resign();
      }
      return keys.length;
    },
  },
};

describe('key lookups on postgres: by index however young the table was when first looked up', function () {
  this.timeout(60_000);
  for (const [name, lookup] of Object.entries(lookups)) {
    it(name, async () => {
      const database = await createTestDatabase('orders');
      // One connection: the one a long-lived pool keeps, with whatever plans it made early on.
      const db = PgDatabase.connect(database.url, { max: 1 });
      try {
        // Autovacuum's ANALYZE would make Postgres plan again and hide what this checks.
        await db.exec(`ALTER TABLE ${lookup.table} SET (autovacuum_enabled = off)`);
        const keys = await insert(db, rowsOf[lookup.table](3));
        // Past the five calls after which Postgres may keep a generic plan: on a young table of one
        // page, reading all of it is the cheapest plan there is.
        for (let i = 0; i < 10; i += 1) expect(await lookup.lookUp(db, keys)).to.equal(keys.length);
        // Many more rows, as a busy day adds them, with no ANALYZE since.
        await insert(db, rowsOf[lookup.table](20_000));
        const before = await seqScans(db, lookup.table);
        expect(await lookup.lookUp(db, keys)).to.equal(keys.length);
        expect(await seqScans(db, lookup.table), 'sequential scans of the grown table').to.equal(before);
      } finally {
        await db.close();
        await database.drop();
      }
    });
  }
});
