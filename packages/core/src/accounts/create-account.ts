import { actingFor, type Caller } from '../shared/actor.js';
import type { UnitOfWork } from '../shared/unit-of-work.js';
import type { AccountsTx } from './ports.js';
import { Account, toAccountView, type AccountView } from './account.js';

export class CreateAccount {
  constructor(private readonly uow: UnitOfWork<AccountsTx>) {}

  /** Opens an account with a zero balance; `account_exists` if the user has one. */
  async execute(input: { caller: Caller; userId?: unknown }): Promise<AccountView> {
    const account = Account.open(actingFor(input.caller, input.userId));
    await this.uow.run((tx) => tx.accounts.add(account));
    return toAccountView(account.snapshot());
  }
}
