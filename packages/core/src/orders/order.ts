import { DomainError } from '../shared/errors.js';
import type { OrderId, UserId } from '../shared/ids.js';
import type { FailureReason } from '../messaging/messages.js';
import { Money } from '../shared/money.js';
import { checkDescription } from '../shared/text.js';
import { askAgainDelay, defaultReconcilePolicy } from './reconcile-policy.js';

export type OrderStatus = 'NEW' | 'FINISHED' | 'CANCELLED';

/** An order reached its final status: when it was placed and when it settled. */
interface Settled {
  readonly orderId: OrderId;
  readonly placedAt: Date;
  readonly at: Date;
}

/**
 * Events an order records. A placed order asks for its payment (see `orderMessages`); a settled
 * one is told to whoever watches orders settle, once the transaction commits.
 */
export type OrderEvent =
  | { readonly type: 'OrderPlaced'; readonly orderId: OrderId; readonly userId: UserId; readonly amount: Money }
  | {
      readonly type: 'PaymentAskedAgain';
      readonly orderId: OrderId;
      readonly userId: UserId;
      readonly amount: Money;
      /** How many times the order has asked for its payment, this one included (2 the first time again). */
      readonly asks: number;
    }
  | ({ readonly type: 'OrderFinished' } & Settled)
  | ({ readonly type: 'OrderCancelled'; readonly reason: FailureReason } & Settled);

/** An order as stored and as the API shows it. */
export interface OrderSnapshot {
  readonly id: OrderId;
  readonly userId: UserId;
  readonly amount: number;
  readonly description: string;
  readonly status: OrderStatus;
  readonly failureReason: FailureReason | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  /** How many times the order has asked for its payment: 1 once placed, one more each time again. */
  readonly paymentAsks: number;
  /** When the order asks for its payment again if it is still NEW; null once it is final. */
  readonly askAgainAt: Date | null;
}

/** An order moves once, from NEW to FINISHED or CANCELLED, and then never again. */
export class Order {
  private events: OrderEvent[] = [];

  private constructor(private state: OrderSnapshot) {}

  static place(input: {
    id: OrderId;
    userId: UserId;
    amount: Money;
    description: string;
    now: Date;
    /** When to ask for the payment again if no outcome came; by default, as `defaultReconcilePolicy` says. */
    askAgainAt?: Date;
  }): Order {
    const order = new Order({
      id: input.id,
      userId: input.userId,
      amount: input.amount.minor,
      description: checkDescription(input.description),
      status: 'NEW',
      failureReason: null,
      createdAt: input.now,
      updatedAt: input.now,
      paymentAsks: 1,
      askAgainAt: input.askAgainAt ?? new Date(input.now.getTime() + askAgainDelay(defaultReconcilePolicy, 1)),
    });
    order.events.push({ type: 'OrderPlaced', orderId: input.id, userId: input.userId, amount: input.amount });
    return order;
  }

  static rehydrate(snapshot: OrderSnapshot): Order {
    return new Order(snapshot);
  }

  get id(): OrderId {
    return this.state.id;
  }

  get status(): OrderStatus {
    return this.state.status;
  }

  get userId(): UserId {
    return this.state.userId;
  }

  get amount(): Money {
    return Money.of(this.state.amount);
  }

  get paymentAsks(): number {
    return this.state.paymentAsks;
  }

  snapshot(): OrderSnapshot {
    return { ...this.state };
  }

  /**
   * No outcome came in time: the order asks for its payment once more, and again at `nextAt` if
   * still NEW then. Returns false once the order is final (it has nothing left to ask).
   */
  askPaymentAgain(nextAt: Date): boolean {
    if (this.state.status !== 'NEW') return false;
    const asks = this.state.paymentAsks + 1;
    this.state = { ...this.state, paymentAsks: asks, askAgainAt: nextAt };
    const { id: orderId, userId } = this.state;
    this.events.push({ type: 'PaymentAskedAgain', orderId, userId, amount: this.amount, asks });
    return true;
  }

  /**
   * The account was debited. Returns false if the order already finished (a repeat), and throws
   * if it had been cancelled: the two outcomes can never both be true.
   */
  finish(now: Date): boolean {
    if (this.state.status === 'FINISHED') return false;
    this.guardNew('FINISHED');
    this.state = { ...this.state, status: 'FINISHED', updatedAt: now, askAgainAt: null };
    this.events.push({ type: 'OrderFinished', orderId: this.state.id, placedAt: this.state.createdAt, at: now });
    return true;
  }

  /** Nothing was debited. Returns false on a repeat of the same cancellation. */
  cancel(reason: FailureReason, now: Date): boolean {
    if (this.state.status === 'CANCELLED' && this.state.failureReason === reason) return false;
    this.guardNew('CANCELLED');
    this.state = { ...this.state, status: 'CANCELLED', failureReason: reason, updatedAt: now, askAgainAt: null };
    this.events.push({
      type: 'OrderCancelled',
      orderId: this.state.id,
      reason,
      placedAt: this.state.createdAt,
      at: now,
    });
    return true;
  }

  pullEvents(): OrderEvent[] {
    const events = this.events;
    this.events = [];
    return events;
  }

  private guardNew(target: OrderStatus): void {
    if (this.state.status !== 'NEW') {
      throw new DomainError(
        'conflict',
        'invalid_order_transition',
        `order ${this.state.id} is ${this.state.status} and cannot become ${target}`,
      );
    }
  }
}
