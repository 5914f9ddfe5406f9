import { isUuid, Order, type OrderId, type OrderRepository } from '@gozon/core';
import type { PgTransaction, RowWrite } from './batched-transaction.js';
import { plannedPerCall } from './pg-database.js';
import { ORDER_COLUMNS, toOrder } from './rows.js';

/** Orders, new or changed: only what may change is overwritten; id, user, amount and creation time are set once. */
export const ORDER_ROWS: RowWrite = {
  table: 'orders',
  sql: (rows) =>
    `INSERT INTO orders (${ORDER_COLUMNS})
     SELECT ${ORDER_COLUMNS} FROM json_to_recordset(${rows}) AS r(id uuid, user_id text, amount bigint,
       description text, status text, failure_reason text, created_at timestamptz, updated_at timestamptz,
       payment_asks integer, ask_again_at timestamptz)
     ON CONFLICT (id) DO UPDATE
       SET status = EXCLUDED.status, failure_reason = EXCLUDED.failure_reason, updated_at = EXCLUDED.updated_at,
           payment_asks = EXCLUDED.payment_asks, ask_again_at = EXCLUDED.ask_again_at`,
};

const LOCK_MANY = plannedPerCall(
  `SELECT ${ORDER_COLUMNS} FROM orders WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`,
);

// SKIP LOCKED: an order a consumer is settling, or another instance's sweep holds, is left to them.
const DUE = plannedPerCall(
  `SELECT ${ORDER_COLUMNS} FROM orders WHERE status = 'NEW' AND ask_again_at <= $1
   ORDER BY ask_again_at LIMIT $2 FOR UPDATE SKIP LOCKED`,
);

/** Orders on the transaction's client; writes go with the transaction's other writes. */
export class PgOrderRepository implements OrderRepository {
  constructor(private readonly tx: PgTransaction) {}

  async get(id: OrderId): Promise<Order | null> {
    if (!isUuid(id)) return null;
    // FOR UPDATE: two outcomes for one order are applied one after the other, never interleaved.
    const { rows } = await this.tx.query(`SELECT ${ORDER_COLUMNS} FROM orders WHERE id = $1 FOR UPDATE`, [id]);
    return rows[0] ? Order.rehydrate(toOrder(rows[0])) : null;
  }

  async getMany(ids: readonly OrderId[]): Promise<Map<OrderId, Order>> {
    const found = new Map<OrderId, Order>();
    const valid = ids.filter(isUuid);
    if (valid.length === 0) return found;
    const { rows } = await this.tx.query(LOCK_MANY, [valid]);
    for (const row of rows) {
      const order = Order.rehydrate(toOrder(row));
      found.set(order.id, order);
    }
    return found;
  }

  async dueToAskAgain(now: Date, limit: number): Promise<Order[]> {
    const { rows } = await this.tx.query(DUE, [now, limit]);
    return rows.map((row) => Order.rehydrate(toOrder(row)));
  }

  async save(order: Order): Promise<void> {
    const o = order.snapshot();
    this.tx.write(ORDER_ROWS, o.id, {
      id: o.id,
      user_id: o.userId,
      amount: o.amount,
      description: o.description,
      status: o.status,
      failure_reason: o.failureReason,
      created_at: o.createdAt,
      updated_at: o.updatedAt,
      payment_asks: o.paymentAsks,
      ask_again_at: o.askAgainAt,
    });
  }
}
