import { invalid } from './errors.js';

/** The largest amount one request may carry, in minor units (the contract's limit). */
export const MAX_AMOUNT = 1_000_000_000_000;

/**
 * An amount of money in integer minor units. Balances may be zero; amounts a client sends are
 * checked with `Money.amount`, which refuses zero, fractions and anything over `MAX_AMOUNT`.
 */
export class Money {
  private constructor(readonly minor: number) {}

  static readonly zero = new Money(0);

  /** A positive amount from outside: an integer in 1..MAX_AMOUNT. */
  static amount(value: unknown, field = 'amount'): Money {
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
      throw invalid(field, `${field} must be an integer number of minor units`);
    }
    if (value <= 0) throw invalid(field, `${field} must be greater than 0`);
    if (value > MAX_AMOUNT) throw invalid(field, `${field} must be at most ${MAX_AMOUNT}`);
    return new Money(value);
  }

  /** A stored balance or amount, trusted to be a non-negative safe integer. */
  static of(minor: number): Money {
    if (!Number.isSafeInteger(minor) || minor < 0) {
      throw new RangeError(`money must be a non-negative safe integer, got ${minor}`);
    }
    return new Money(minor);
  }

  add(other: Money): Money {
    return Money.of(this.minor + other.minor);
  }

  subtract(other: Money): Money {
    return Money.of(this.minor - other.minor);
  }

  covers(other: Money): boolean {
    return this.minor >= other.minor;
  }

  equals(other: Money): boolean {
    return this.minor === other.minor;
  }
}
