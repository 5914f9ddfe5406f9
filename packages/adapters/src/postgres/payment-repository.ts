import { conflict, isUuid, Payment, type OrderId, type PaymentRepository } from '@gozon/core';
import { PAYMENT_COLUMNS, toPayment } from './rows.js';
import { isUniqueViolation, type SqlClient } from './sql.js';

/** Payments on the transaction's client; the primary key on order_id allows one per order. */
export class PgPaymentRepository implements PaymentRepository {
  constructor(private readonly client: SqlClient) {}

  async get(orderId: OrderId): Promise<Payment | null> {
    if (!isUuid(orderId)) return null;
    const { rows } = await this.client.query(`SELECT ${PAYMENT_COLUMNS} FROM payments WHERE order_id = $1`, [orderId]);
    return rows[0] ? Payment.rehydrate(toPayment(rows[0])) : null;
  }

  async add(payment: Payment): Promise<void> {
    const p = payment.snapshot();
    try {
      await this.client.query(`INSERT INTO payments (${PAYMENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)`, [
        p.orderId,
        p.userId,
        p.amount,
        p.status,
        p.failureReason,
        p.createdAt,
      ]);
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict('payment_exists', `order ${p.orderId} has a payment already`);
      throw err;
    }
  }
}
