import { notFound } from '../shared/errors.js';
import { actingFor, keyOwner, type Caller } from '../shared/actor.js';
import { once } from '../shared/idempotency.js';
import type { UserId } from '../shared/ids.js';
import { Money } from '../shared/money.js';
import type { UnitOfWork } from '../shared/unit-of-work.js';
import { toAccountView, type AccountView } from './account.js';
import type { AccountsTx } from './ports.js';

export interface DepositInput {
  /** Who is asking; `null` where identity is off. */
  readonly caller: Caller;
  /** Whose account; left out, the caller's. */
  readonly userId?: unknown;
  readonly amount: unknown;
  readonly idempotencyKey?: string | undefined;
}

export class Deposit {
  constructor(private readonly uow: UnitOfWork<AccountsTx>) {}

  /** Adds `amount` to the balance and returns the account with its new balance. */
  async execute(input: DepositInput): Promise<AccountView> {
    const userId = actingFor(input.caller, input.userId);
    const amount = Money.amount(input.amount);
    const fingerprint = JSON.stringify([userId, amount.minor]);
    const scope = `payments.deposit/${keyOwner(input.caller, userId)}`;
    return this.uow.run((tx) =>
      once(tx.idempotency, scope, input.idempotencyKey, fingerprint, () => deposit(tx, userId, amount)),
    );
  }
}

const deposit = async (tx: AccountsTx, userId: UserId, amount: Money): Promise<AccountView> => {
  const account = await tx.accounts.get(userId);
  if (!account) throw notFound('account_not_found', `no account for user ${userId}`);
  account.deposit(amount);
  await tx.accounts.save(account);
  return toAccountView(account.snapshot());
};
