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

/** The decision taken for one order: there is exactly one per order id, and it never changes. */
export class Payment {
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
    if (!input.account) return new Payment({ ...base, status: 'FAILED', failureReason: 'account_not_found' });
    if (!input.account.canPay(input.amount)) {
      return new Payment({ ...base, status: 'FAILED', failureReason: 'insufficient_funds' });
    }
    input.account.debit(input.amount);
    return new Payment({ ...base, status: 'SUCCEEDED', failureReason: null });
  }

  static rehydrate(snapshot: PaymentSnapshot): Payment {
    return new Payment(snapshot);
  }

  get succeeded(): boolean {
    return this.state.status === 'SUCCEEDED';
  }

  snapshot(): PaymentSnapshot {
    return { ...this.state };
  }
}
