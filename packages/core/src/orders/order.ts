import { DomainError, invalid } from '../shared/errors.js';
import type { OrderId, UserId } from '../shared/ids.js';
import type { FailureReason } from '../messaging/messages.js';
import { Money } from '../shared/money.js';
import { checkText } from '../shared/text.js';

export type OrderStatus = 'NEW' | 'FINISHED' | 'CANCELLED';

export const MAX_DESCRIPTION = 500;

/** Events an order records; the use cases turn them into outbox messages. */
export type OrderEvent =
  | { readonly type: 'OrderPlaced'; readonly orderId: OrderId; readonly userId: UserId; readonly amount: Money }
  | { readonly type: 'OrderFinished'; readonly orderId: OrderId }
  | { readonly type: 'OrderCancelled'; readonly orderId: OrderId; readonly reason: FailureReason };

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
}

export const checkDescription = (value: unknown): string => {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw invalid('description', 'description must be a string');
  if ([...value].length > MAX_DESCRIPTION) {
    throw invalid('description', `description must be at most ${MAX_DESCRIPTION} characters`);
  }
  // One line of text: a newline or tab is refused like any control character (see `checkText`).
  return checkText(value, 'description');
};

/** An order moves once, from NEW to FINISHED or CANCELLED, and then never again. */
export class Order {
  private events: OrderEvent[] = [];

  private constructor(private state: OrderSnapshot) {}

  static place(input: { id: OrderId; userId: UserId; amount: Money; description: string; now: Date }): Order {
    const order = new Order({
      id: input.id,
      userId: input.userId,
      amount: input.amount.minor,
      description: checkDescription(input.description),
      status: 'NEW',
      failureReason: null,
      createdAt: input.now,
      updatedAt: input.now,
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

  snapshot(): OrderSnapshot {
    return { ...this.state };
  }

  /**
   * The account was debited. Returns false if the order already finished (a repeat), and throws
   * if it had been cancelled: the two outcomes can never both be true.
   */
  finish(now: Date): boolean {
    if (this.state.status === 'FINISHED') return false;
    this.guardNew('FINISHED');
    this.state = { ...this.state, status: 'FINISHED', updatedAt: now };
    this.events.push({ type: 'OrderFinished', orderId: this.state.id });
    return true;
  }

  /** Nothing was debited. Returns false on a repeat of the same cancellation. */
  cancel(reason: FailureReason, now: Date): boolean {
    if (this.state.status === 'CANCELLED' && this.state.failureReason === reason) return false;
    this.guardNew('CANCELLED');
    this.state = { ...this.state, status: 'CANCELLED', failureReason: reason, updatedAt: now };
    this.events.push({ type: 'OrderCancelled', orderId: this.state.id, reason });
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
