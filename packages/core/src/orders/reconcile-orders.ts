import type { Clock } from '../shared/clock.js';
import type { IdGenerator } from '../shared/id-generator.js';
import type { OrderId } from '../shared/ids.js';
import type { UnitOfWork } from '../shared/unit-of-work.js';
import { outgoing } from '../messaging/envelope.js';
import { orderMessages } from './order-messages.js';
import type { OrdersTx } from './ports.js';
import { askAgainDelay, defaultReconcilePolicy, type ReconcilePolicy } from './reconcile-policy.js';

/** An order that asked for its payment again, and how many times it has asked so far. */
export interface AskedAgain {
  readonly orderId: OrderId;
  readonly asks: number;
}

/**
 * Asks again for the payment of each order still NEW whose time has come, through the outbox, as
 * placing it did (same order, a new message id). The payments service answers a repeated request
 * with the decision it took, so asking again can settle an order and never debit it twice. Orders
 * another transaction holds are skipped, so several instances sweeping at once ask once per order.
 */
export class ReconcileOrders {
  constructor(
    private readonly uow: UnitOfWork<OrdersTx>,
    private readonly clock: Clock,
    private readonly ids: IdGenerator,
    private readonly policy: ReconcilePolicy = defaultReconcilePolicy,
  ) {}

  /** One sweep: batch after batch, until none is due or `policy.perSweep` orders have asked. */
  async sweep(): Promise<AskedAgain[]> {
    const asked: AskedAgain[] = [];
    for (;;) {
      const limit = Math.min(this.policy.batch, this.policy.perSweep - asked.length);
      if (limit <= 0) return asked;
      const batch = await this.uow.run((tx) => this.askAgain(tx, limit));
      asked.push(...batch.asked);
      if (batch.due < limit) return asked;
    }
  }

  private async askAgain(tx: OrdersTx, limit: number): Promise<{ due: number; asked: AskedAgain[] }> {
    const now = this.clock.now();
    const due = await tx.orders.dueToAskAgain(now, limit);
    const asked: AskedAgain[] = [];
    for (const order of due) {
      const nextAt = new Date(now.getTime() + askAgainDelay(this.policy, order.paymentAsks + 1));
      if (!order.askPaymentAgain(nextAt)) continue;
      await tx.orders.save(order);
      for (const message of outgoing(orderMessages(order.pullEvents()), { ids: this.ids, at: now })) {
        await tx.outbox.append(message);
      }
      asked.push({ orderId: order.id, asks: order.paymentAsks });
    }
    return { due: due.length, asked };
  }
}
