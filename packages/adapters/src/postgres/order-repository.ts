import { isUuid, Order, type OrderId, type OrderRepository } from '@gozon/core';
import { ORDER_COLUMNS, toOrder } from './rows.js';
import type { SqlClient } from './sql.js';

/** Orders on the transaction's client. */
export class PgOrderRepository implements OrderRepository {
  constructor(private readonly client: SqlClient) {}

  async get(id: OrderId): Promise<Order | null> {
    if (!isUuid(id)) return null;
    // FOR UPDATE: two outcomes for one order are applied one after the other, never interleaved.
    const { rows } = await this.client.query(`SELECT ${ORDER_COLUMNS} FROM orders WHERE id = $1 FOR UPDATE`, [id]);
    return rows[0] ? Order.rehydrate(toOrder(rows[0])) : null;
  }

  async save(order: Order): Promise<void> {
    const o = order.snapshot();
    // Only what may change is overwritten; id, user, amount and creation time are set once.
    await this.client.query(
      `INSERT INTO orders (${ORDER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (id) DO UPDATE
         SET status = EXCLUDED.status, failure_reason = EXCLUDED.failure_reason, updated_at = EXCLUDED.updated_at`,
      [o.id, o.userId, o.amount, o.description, o.status, o.failureReason, o.createdAt, o.updatedAt],
    );
  }
}
