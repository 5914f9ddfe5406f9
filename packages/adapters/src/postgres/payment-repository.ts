import { conflict, isUuid, Payment, type OrderId, type PaymentRepository } from '@gozon/core';
import type { PgTransaction, RowWrite } from './batched-transaction.js';
import { PAYMENT_COLUMNS, toPayment } from './rows.js';

/** New payments; the primary key on order_id allows one per order. */
export const PAYMENT_ROWS: RowWrite = {
  table: 'payments',
  sql: (rows) =>
    `INSERT INTO payments (${PAYMENT_COLUMNS})
     SELECT ${PAYMENT_COLUMNS} FROM json_to_recordset(${rows}) AS r(order_id uuid, user_id text, amount bigint,
       status text, failure_reason text, created_at timestamptz)`,
  onUniqueViolation: (detail) => conflict('payment_exists', `the order has a payment already (${detail})`),
};

/** Payments on the transaction's client; writes go with the transaction's other writes. */
export class PgPaymentRepository implements PaymentRepository {
  constructor(private readonly tx: PgTransaction) {}

  async get(orderId: OrderId): Promise<Payment | null> {
    if (!isUuid(orderId)) return null;
    const { rows } = await this.tx.query(`SELECT ${PAYMENT_COLUMNS} FROM payments WHERE order_id = $1`, [orderId]);
    return rows[0] ? Payment.rehydrate(toPayment(rows[0])) : null;
  }

  async getMany(orderIds: readonly OrderId[]): Promise<Map<OrderId, Payment>> {
    const found = new Map<OrderId, Payment>();
    const valid = orderIds.filter(isUuid);
    if (valid.length === 0) return found;
    const { rows } = await this.tx.query(`SELECT ${PAYMENT_COLUMNS} FROM payments WHERE order_id = ANY($1::uuid[])`, [
      valid,
    ]);
    for (const row of rows) {
      const payment = Payment.rehydrate(toPayment(row));
      found.set(payment.snapshot().orderId, payment);
    }
    return found;
  }

  async add(payment: Payment): Promise<void> {
    const p = payment.snapshot();
    this.tx.write(PAYMENT_ROWS, p.orderId, {
      order_id: p.orderId,
      user_id: p.userId,
      amount: p.amount,
      status: p.status,
      failure_reason: p.failureReason,
      created_at: p.createdAt,
    });
  }
}
