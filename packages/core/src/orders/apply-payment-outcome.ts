import { loadAll, recordAll } from '../shared/batch-reads.js';
import type { Clock } from '../shared/clock.js';
import { DomainError } from '../shared/errors.js';
import { OrderId } from '../shared/ids.js';
import { Money } from '../shared/money.js';
import type { UnitOfWork } from '../shared/unit-of-work.js';
import type { MessageEnvelope } from '../messaging/envelope.js';
import { parsePaymentOutcome, type PaymentOutcome } from '../messaging/messages.js';
import type { Order } from './order.js';
import type { OrdersTx } from './ports.js';

export const ORDERS_CONSUMER = 'orders';

export type OutcomeResult = 'applied' | 'duplicate' | 'unchanged';

/** An order that has just reached its final status (told after the commit). */
export interface OrderSettled {
  readonly status: 'FINISHED' | 'CANCELLED';
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** Consumes `payment.status`: moves the order to FINISHED or CANCELLED, once. */
export class ApplyPaymentOutcome {
  constructor(
    private readonly uow: UnitOfWork<OrdersTx>,
    private readonly clock: Clock,
    /** Told of each order this use case settles, e.g. to measure how long orders wait. */
    private readonly onSettled: (order: OrderSettled) => void = () => undefined,
  ) {}

  async execute(message: MessageEnvelope): Promise<OutcomeResult> {
    const [result] = await this.executeAll([message]);
    return result as OutcomeResult;
  }

  /**
   * Applies several outcomes in one transaction, all or none, each as `execute` would. The inbox
   * records and the orders are loaded for the whole batch at once, both reads asked together (orders
   * locked in one order, by id, so concurrent batches never wait on each other in a cycle), then
   * each outcome is applied.
   */
  async executeAll(messages: readonly MessageEnvelope[]): Promise<OutcomeResult[]> {
    const outcomes = messages.map((message, i) => {
      const outcome = parsePaymentOutcome(message.type, message.payload);
      return { message, outcome, orderId: OrderId(outcome.body.order_id), i };
    });
    const order = [...outcomes].sort((a, b) => (a.orderId < b.orderId ? -1 : a.orderId > b.orderId ? 1 : 0));
    const settled: OrderSettled[] = [];
    const results = await this.uow.run(async (tx) => {
      // Asked together, so an adapter that pipelines sends them in one round trip; an order is
      // read (and locked) even for an outcome the inbox then finds repeated.
      const [fresh, orders] = await Promise.all([
        recordAll(
          tx.inbox,
          ORDERS_CONSUMER,
          order.map(({ message }) => message.id),
        ),
        loadAll(
          tx.orders,
          order.map(({ orderId }) => orderId),
        ),
      ]);
      const applied: OutcomeResult[] = [];
      for (const [j, { outcome, orderId, i }] of order.entries()) {
        applied[i] = fresh[j]
          ? await this.apply(tx, orders.get(orderId) ?? null, outcome, orderId, settled)
          : 'duplicate';
      }
      return applied;
    });
    // Only once committed: a rolled-back attempt is retried and would be counted twice.
    for (const order of settled) this.onSettled(order);
    return results;
  }

  private async apply(
    tx: OrdersTx,
    order: Order | null,
    outcome: PaymentOutcome,
    orderId: OrderId,
    settled: OrderSettled[],
  ): Promise<OutcomeResult> {
    if (!order) {
      throw new DomainError('validation', 'order_not_found', `payment outcome for unknown order ${orderId}`);
    }
    // An outcome about another user's order, or another amount, was not decided for this order.
    if (order.userId !== outcome.body.user_id) {
      throw new DomainError('validation', 'user_mismatch', `payment outcome user differs from order ${orderId}`);
    }
    if (!order.amount.equals(Money.of(outcome.body.amount))) {
      throw new DomainError('validation', 'amount_mismatch', `payment outcome amount differs from order ${orderId}`);
    }
    const now = this.clock.now();
    const changed = outcome.type === 'payment.succeeded' ? order.finish(now) : order.cancel(outcome.body.reason, now);
    if (!changed) return 'unchanged';
    order.pullEvents();
    await tx.orders.save(order);
    const { status, createdAt, updatedAt } = order.snapshot();
    if (status !== 'NEW') settled.push({ status, createdAt, updatedAt });
    return 'applied';
  }
}
