import type { Account } from '../accounts/account.js';
import type { FailureReason } from '../messaging/messages.js';
import type { OrderId, UserId } from '../shared/ids.js';
import type { Money } from '../shared/money.js';

export type PaymentStatus = 'SUCCEEDED' | 'FAILED';

export interface PaymentSnapshot {
  readonly orderId: OrderId;
  readonly userId: UserId;
  readonly amount: number;
  readonly status: PaymentStatus;
  readonly failureReason: FailureReason | null;
  readonly createdAt: Date;
}

interface Decided {
  readonly orderId: OrderId;
  readonly userId: UserId;
  readonly amount: number;
}

/** Events a payment records: its decision, each time it is told (see `paymentMessages`). */
export type PaymentEvent =
  | ({ readonly type: 'PaymentSucceeded' } & Decided)
  | ({ readonly type: 'PaymentFailed'; readonly reason: FailureReason } & Decided);

/** The decision taken for one order: there is exactly one per order id, and it never changes. */
export class Payment {
  private events: PaymentEvent[] = [];

  private constructor(private readonly state: PaymentSnapshot) {}

  /**
   * Decides the payment for an order and, when it succeeds, debits `account`. With no account
   * or too little money nothing is debited and the payment records why.
   */
  static decide(input: {
    orderId: OrderId;
    userId: UserId;
    amount: Money;
    account: Account | null;
    now: Date;
  }): Payment {
    const base = { orderId: input.orderId, userId: input.userId, amount: input.amount.minor, createdAt: input.now };
    const decided = (status: PaymentStatus, failureReason: FailureReason | null) =>
      new Payment({ ...base, status, failureReason }).tell();
    if (!input.account) return decided('FAILED', 'account_not_found');
    if (!input.account.canPay(input.amount)) return decided('FAILED', 'insufficient_funds');
    input.account.debit(input.amount);
    return decided('SUCCEEDED', null);
  }

  static rehydrate(snapshot: PaymentSnapshot): Payment {
    return new Payment(snapshot);
  }

  get succeeded(): boolean {
    return this.state.status === 'SUCCEEDED';
  }

  /**
   * Records the decision as an event: once when it is taken, and again for each later request
   * for the same order (even under a new message id), which gets the same answer and changes
   * nothing else.
   */
  tell(): this {
    const { orderId, userId, amount, failureReason } = this.state;
    this.events.push(
      failureReason
        ? { type: 'PaymentFailed', orderId, userId, amount, reason: failureReason }
        : { type: 'PaymentSucceeded', orderId, userId, amount },
    );
    return this;
  }

  pullEvents(): PaymentEvent[] {
    const events = this.events;
    this.events = [];
    return events;
  }

  snapshot(): PaymentSnapshot {
    return { ...this.state };
  }
}
