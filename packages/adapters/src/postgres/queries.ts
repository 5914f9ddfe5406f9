import { isUuid, type AccountQueries, type AccountSnapshot, type OrderQueries, type OrderSnapshot } from '@gozon/core';
import { ORDER_COLUMNS, toAccount, toOrder } from './rows.js';
import type { SqlDatabase } from './sql.js';

/** The orders read side: committed rows only, outside any unit of work. */
export class PgOrderQueries implements OrderQueries {
  constructor(private readonly db: SqlDatabase) {}

  async byId(id: string): Promise<OrderSnapshot | null> {
    if (!isUuid(id)) return null;
    const { rows } = await this.db.query(`SELECT ${ORDER_COLUMNS} FROM orders WHERE id = $1`, [id]);
    return rows[0] ? toOrder(rows[0]) : null;
  }

  async listByUser(userId: string): Promise<OrderSnapshot[]> {
    // Orders placed in the same instant come out in a fixed order (id descending, as in memory).
    const { rows } = await this.db.query(
      `SELECT ${ORDER_COLUMNS} FROM orders WHERE user_id = $1 ORDER BY created_at DESC, id DESC`,
      [userId],
    );
    return rows.map(toOrder);
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
