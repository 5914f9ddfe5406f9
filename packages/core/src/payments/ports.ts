import type { AccountsTx } from '../accounts/ports.js';
import type { Inbox } from '../messaging/inbox.js';
import type { Outbox } from '../messaging/outbox.js';
import type { OrderId } from '../shared/ids.js';
import type { Payment } from './payment.js';

/** Payments inside a transaction; one per order id. */
export interface PaymentRepository {
  /** The payment decided for an order, or null. */
  get(orderId: OrderId): Promise<Payment | null>;
  /** Optional: the payments decided for those orders, where there is one. */
  getMany?(orderIds: readonly OrderId[]): Promise<Map<OrderId, Payment>>;
  /**
   * Inserts a payment. If the order has one already, the transaction fails with `payment_exists`
   * (conflict): the unit of work's `run` rejects with it and nothing of the transaction commits.
   */
  add(payment: Payment): Promise<void>;
}

/**
 * What one payments-service transaction can touch: the accounts, and the payments decided
 * against them. Payments build on accounts, never the other way round.
 */
export interface PaymentsTx extends AccountsTx {
  readonly payments: PaymentRepository;
  readonly outbox: Outbox;
  readonly inbox: Inbox;
}
