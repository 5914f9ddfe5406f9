import { DomainError } from '../shared/errors.js';
import type { UserId } from '../shared/ids.js';
import { Money } from '../shared/money.js';

export interface AccountSnapshot {
  readonly userId: UserId;
  readonly balance: number;
}

/** A user's balance in minor units; it never goes below zero. */
export class Account {
  private constructor(
    readonly userId: UserId,
    private balanceMinor: Money,
  ) {}

  static open(userId: UserId): Account {
    return new Account(userId, Money.zero);
  }

  static rehydrate(snapshot: AccountSnapshot): Account {
    return new Account(snapshot.userId, Money.of(snapshot.balance));
  }

  get balance(): Money {
    return this.balanceMinor;
  }

  deposit(amount: Money): void {
    if (this.balanceMinor.minor + amount.minor > Number.MAX_SAFE_INTEGER) {
      throw new DomainError(
        'validation',
        'balance_too_large',
        'amount would take the balance over its limit',
        'amount',
      );
    }
    this.balanceMinor = this.balanceMinor.add(amount);
  }

  canPay(amount: Money): boolean {
    return this.balanceMinor.covers(amount);
  }

  /** Takes `amount` off the balance; refuses to go below zero. */
  debit(amount: Money): void {
    if (!this.canPay(amount)) {
      throw new DomainError('conflict', 'insufficient_funds', `account ${this.userId} has too little money`);
    }
    this.balanceMinor = this.balanceMinor.subtract(amount);
  }

  snapshot(): AccountSnapshot {
    return { userId: this.userId, balance: this.balanceMinor.minor };
  }
}

/** An account as the contract shows it. */
export interface AccountView {
  readonly user_id: string;
  readonly balance: number;
}

export const toAccountView = (account: AccountSnapshot): AccountView => ({
  user_id: account.userId,
  balance: account.balance,
});
