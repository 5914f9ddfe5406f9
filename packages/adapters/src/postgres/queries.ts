import {
  isUuid,
  type AccountQueries,
  type AccountSnapshot,
  type OrderId,
  type OrderPage,
  type OrderQueries,
  type OrderSnapshot,
  type PageRequest,
} from '@gozon/core';
import { ORDER_COLUMNS, toAccount, toOrder } from './rows.js';
import type { SqlDatabase } from './sql.js';

// A user's orders newest first, read along the index orders_by_user (user_id, created_at DESC,
// id DESC); a page resumes after the last one's (created_at, id), never by OFFSET. The position
// is read as text with all six fractional digits: a JS Date would drop the microseconds, and a
// page would then resume before orders of the same millisecond it had already shown.
const LISTED = `SELECT ${ORDER_COLUMNS},
  to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS position_at FROM orders`;
const LIST_FIRST = `${LISTED} WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2`;
const LIST_AFTER = `${LISTED} WHERE user_id = $1 AND (created_at, id) < ($2::timestamptz, $3::uuid)
  ORDER BY created_at DESC, id DESC LIMIT $4`;

/** The orders read side: committed rows only, outside any unit of work. */
export class PgOrderQueries implements OrderQueries {
  constructor(private readonly db: SqlDatabase) {}

  async byId(id: string): Promise<OrderSnapshot | null> {
    if (!isUuid(id)) return null;
    const { rows } = await this.db.query(`SELECT ${ORDER_COLUMNS} FROM orders WHERE id = $1`, [id]);
    return rows[0] ? toOrder(rows[0]) : null;
  }

  async listByUser(userId: string, page: PageRequest): Promise<OrderPage> {
    // One more than asked for tells whether another page follows.
    const { rows } = page.after
      ? await this.db.query(LIST_AFTER, [userId, page.after.createdAt, page.after.id, page.limit + 1])
      : await this.db.query(LIST_FIRST, [userId, page.limit + 1]);
    const orders = rows.slice(0, page.limit);
    const last = orders.at(-1);
    return {
      orders: orders.map(toOrder),
      ...(rows.length > page.limit && last
        ? { next: { createdAt: last.position_at as string, id: last.id as OrderId } }
        : {}),
    };
  }

  /** Orders still NEW (waiting for a payment outcome) and the age of the oldest, in seconds (for metrics). */
  async awaitingOutcome(): Promise<{ count: number; oldestAgeSeconds: number }> {
    const { rows } = await this.db.query<{ n: unknown; age: unknown }>(
      `SELECT count(*) AS n, COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0) AS age
       FROM orders WHERE status = 'NEW'`,
    );
    return { count: Number(rows[0]?.n ?? 0), oldestAgeSeconds: Math.max(0, Number(rows[0]?.age ?? 0)) };
  }
}

/** The balances read side. */
export class PgAccountQueries implements AccountQueries {
  constructor(private readonly db: SqlDatabase) {}

  async byUser(userId: string): Promise<AccountSnapshot | null> {
    const { rows } = await this.db.query('SELECT user_id, balance FROM accounts WHERE user_id = $1', [userId]);
    return rows[0] ? toAccount(rows[0]) : null;
  }
}
