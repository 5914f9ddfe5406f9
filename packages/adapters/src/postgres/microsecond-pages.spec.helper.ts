import { expect } from 'chai';
import { UserId, type OrderPage } from '@gozon/core';
import { PgOrderQueries } from './queries.js';
import type { SqlDatabase } from './sql.js';

/**
 * Pages of orders whose creation instants differ only in microseconds, as Postgres keeps them
 * (rows written by SQL, or by a clock finer than a JS Date): a position cut to milliseconds would
 * resume before or after all of them, skipping or repeating orders.
 */
export const describeMicrosecondPages = (name: string, open: () => Promise<SqlDatabase>): void => {
  describe(`order pages on ${name}: positions to the microsecond`, function () {
    this.timeout(30_000);
    let db: SqlDatabase;
    before(async () => {
      db = await open();
    });
    after(async () => {
      await db?.close();
    });

    it('walks twenty orders of one millisecond (seven microseconds, ties among them) in pages of 3', async () => {
      const user = UserId(`micro-${Date.now().toString(36)}`);
      await db.query(
        `INSERT INTO orders (id, user_id, amount, status, created_at, updated_at)
         SELECT gen_random_uuid(), $1, g, 'NEW', t, t FROM generate_series(1, 20) AS g,
           LATERAL (SELECT timestamptz '2026-01-01T12:00:00.123Z' + make_interval(secs => (g % 7) / 1e6) AS t) AS i`,
        [user],
      );
      const { rows } = await db.query<{ id: string }>(
        'SELECT id::text AS id FROM orders WHERE user_id = $1 ORDER BY created_at DESC, id DESC',
        [user],
      );
      const queries = new PgOrderQueries(db);
      const pages: OrderPage[] = [await queries.listByUser(user, { limit: 3 })];
      for (let page = pages[0]; page?.next && pages.length < 20;) {
        page = await queries.listByUser(user, { limit: 3, after: page.next });
        pages.push(page);
      }
      expect(pages[0]?.next?.createdAt).to.equal('2026-01-01T12:00:00.123006Z');
      expect(pages.map((p) => p.orders.length)).to.deep.equal([3, 3, 3, 3, 3, 3, 2]);
      expect(pages.flatMap((p) => p.orders.map((o) => o.id))).to.deep.equal(rows.map((r) => r.id));
    });
  });
};
