import type { IdempotencyStore } from '../shared/idempotency.js';
import type { UserId } from '../shared/ids.js';
import type { Account, AccountSnapshot } from './account.js';

/** Accounts inside a transaction. */
export interface AccountRepository {
  /** The account, locked against concurrent writers until the transaction ends, or null. */
  get(userId: UserId): Promise<Account | null>;
  /** Optional: the accounts of those users that have one, each locked as `get` locks it, in order of user. */
  getMany?(userIds: readonly UserId[]): Promise<Map<UserId, Account>>;
  /** Inserts a new account; throws `account_exists` (conflict) if the user has one. */
  add(account: Account): Promise<void>;
  /** Writes a changed account, which must exist (`add` it first), as part of the transaction. */
  save(account: Account): Promise<void>;
}

/** The read side for balances. */
export interface AccountQueries {
  /** An account, or null. */
  byUser(userId: UserId): Promise<AccountSnapshot | null>;
}

/** What the accounts' own use cases touch in one transaction (the payments service's holds more). */
export interface AccountsTx {
  readonly accounts: AccountRepository;
  readonly idempotency: IdempotencyStore;
}
