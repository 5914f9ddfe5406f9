import { loadAll } from '../shared/batch-reads.js';
import type { Clock } from '../shared/clock.js';
import { DomainError } from '../shared/errors.js';
import { OrderId } from '../shared/ids.js';
import { Money } from '../shared/money.js';
import type { UnitOfWork } from '../shared/unit-of-work.js';
import type { MessageEnvelope } from '../messaging/envelope.js';
import { MessageBatch, type Duplicate, type MessageSteps } from '../messaging/message-batch.js';
import { parsePaymentOutcome, type PaymentOutcome } from '../messaging/messages.js';
import type { Order, OrderEvent } from './order.js';
import type { OrdersTx } from './ports.js';

export const ORDERS_CONSUMER = 'orders';

export type OutcomeResult = 'applied' | 'unchanged' | Duplicate;

/** An order that has just reached its final status (told after the commit). */
export interface OrderSettled {
  readonly status: 'FINISHED' | 'CANCELLED';
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

interface Request {
  readonly orderId: OrderId;
  readonly outcome: PaymentOutcome;
}

/** What applying one outcome did: the result, and the events the order recorded. */
interface Applied {
  readonly result: 'applied' | 'unchanged';
  readonly events: readonly OrderEvent[];
}

/** Consumes `payment.status`: moves the order to FINISHED or CANCELLED, once. */
export class ApplyPaymentOutcome {
  private readonly batch: MessageBatch<OrdersTx, Request, Map<OrderId, Order>, Applied>;

  constructor(
    uow: UnitOfWork<OrdersTx>,
    clock: Clock,
    /** Told of each order this use case settles, e.g. to measure how long orders wait. */
    private readonly onSettled: (order: OrderSettled) => void = () => undefined,
  ) {
    this.batch = new MessageBatch(uow, outcomeSteps(clock));
  }

  async execute(message: MessageEnvelope): Promise<OutcomeResult> {
    return this.told(await this.batch.one(message));
  }

  /** Applies several outcomes in one transaction, all or none, each as `execute` would. */
  async executeAll(messages: readonly MessageEnvelope[]): Promise<OutcomeResult[]> {
    const applied = await this.batch.all(messages);
    return applied.map((each) => this.told(each));
  }

  // Only once committed: a rolled-back attempt is retried and would be counted twice.
  private told(applied: Applied | Duplicate): OutcomeResult {
    if (applied === 'duplicate') return applied;
    for (const event of applied.events) {
      if (event.type !== 'OrderFinished' && event.type !== 'OrderCancelled') continue;
      const status = event.type === 'OrderFinished' ? 'FINISHED' : 'CANCELLED';
      this.onSettled({ status, createdAt: event.placedAt, updatedAt: event.at });
    }
    return applied.result;
  }
}

const outcomeSteps = (clock: Clock): MessageSteps<OrdersTx, Request, Map<OrderId, Order>, Applied> => ({
  consumer: ORDERS_CONSUMER,

  parse(message) {
    const outcome = parsePaymentOutcome(message.type, message.payload);
    return { orderId: OrderId(outcome.body.order_id), outcome };
  },

  // By order id, so that concurrent batches lock orders in one order and never wait in a cycle.
  lockOrder: ({ orderId }) => [orderId],

  load: (tx, requests) =>
    loadAll(
      tx.orders,
      requests.map(({ orderId }) => orderId),
    ),

  async decide(tx, { request: { orderId, outcome } }, orders) {
    const order = orders.get(orderId);
    if (!order) throw new DomainError('validation', 'order_not_found', `payment outcome for unknown order ${orderId}`);
    guardSameOrder(order, outcome);
    const now = clock.now();
    const changed = outcome.type === 'payment.succeeded' ? order.finish(now) : order.cancel(outcome.body.reason, now);
    if (!changed) return { result: 'unchanged', events: [] };
    await tx.orders.save(order);
    return { result: 'applied', events: order.pullEvents() };
  },
});

// An outcome about another user's order, or another amount, was not decided for this order.
const guardSameOrder = (order: Order, { body }: PaymentOutcome): void => {
  if (order.userId !== body.user_id) {
    throw new DomainError('validation', 'user_mismatch', `payment outcome user differs from order ${order.id}`);
  }
  if (!order.amount.equals(Money.of(body.amount))) {
    throw new DomainError('validation', 'amount_mismatch', `payment outcome amount differs from order ${order.id}`);
  }
};
