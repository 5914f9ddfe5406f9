import { notFound } from '../shared/errors.js';
import { actingFor, type Caller } from '../shared/actor.js';
import { toAccountView, type AccountView } from './account.js';
import type { AccountQueries } from './ports.js';

export class GetBalance {
  constructor(private readonly queries: AccountQueries) {}

  /** The account of `userId`: the caller's own, or anyone's for an administrator (else `forbidden`). */
  async execute(caller: Caller, userId: unknown): Promise<AccountView> {
    const id = actingFor(caller, userId);
    const account = await this.queries.byUser(id);
    if (!account) throw notFound('account_not_found', `no account for user ${id}`);
    return toAccountView(account);
  }
}
