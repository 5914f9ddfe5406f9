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

/** Consumes `payment.status`: moves the order to FINISHED or CANCELLED, once. */
export class ApplyPaymentOutcome {
  constructor(
    private readonly uow: UnitOfWork<OrdersTx>,
    private readonly clock: Clock,
  ) {}

  async execute(message: MessageEnvelope): Promise<OutcomeResult> {
    const outcome = parsePaymentOutcome(message.type, message.payload);
    const orderId = OrderId(outcome.body.order_id);

    return this.uow.run(async (tx) => {
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
      return 'applied';
    });
  }
}
