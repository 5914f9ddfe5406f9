import { notFound } from '../shared/errors.js';
import { UserId } from '../shared/ids.js';
import { toAccountView, type AccountView } from './account.js';
import type { AccountQueries } from './ports.js';

export class GetBalance {
  constructor(private readonly queries: AccountQueries) {}

  async execute(userId: unknown): Promise<AccountView> {
    const id = UserId(userId);
    const account = await this.queries.byUser(id);
    if (!account) throw notFound('account_not_found', `no account for user ${id}`);
    return toAccountView(account);
  }
}
