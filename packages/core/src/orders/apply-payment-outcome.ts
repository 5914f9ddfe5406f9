import type { Clock } from '../shared/clock.js';
import { DomainError } from '../shared/errors.js';
import { OrderId } from '../shared/ids.js';
import { Money } from '../shared/money.js';
import type { UnitOfWork } from '../shared/unit-of-work.js';
import type { MessageEnvelope } from '../messaging/envelope.js';
import { parsePaymentOutcome } from '../messaging/messages.js';
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
    const outcome = parsePaymentOutcome(message.type, message.payload);
    const orderId = OrderId(outcome.body.order_id);

    let settled: OrderSettled | undefined;
    const result = await this.uow.run(async (tx): Promise<OutcomeResult> => {
      if (!(await tx.inbox.record(ORDERS_CONSUMER, message.id))) return 'duplicate';
      const order = await tx.orders.get(orderId);
      if (!order) {
        throw new DomainError('validation', 'order_not_found', `payment outcome for unknown order ${orderId}`);
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
      if (status !== 'NEW') settled = { status, createdAt, updatedAt };
      return 'applied';
    });
    // Only once committed: a rolled-back attempt is retried and would be counted twice.
    if (settled) this.onSettled(settled);
    return result;
  }
}
