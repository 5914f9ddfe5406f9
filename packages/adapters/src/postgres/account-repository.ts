import { Account, conflict, type AccountRepository, type UserId } from '@gozon/core';
import type { PgTransaction, RowWrite } from './batched-transaction.js';
import { isUniqueViolation } from './sql.js';
import { toAccount } from './rows.js';

/** New balances of existing accounts. */
export const ACCOUNT_BALANCES: RowWrite = {
  table: 'accounts',
  sql: (rows) =>
    `UPDATE accounts AS a SET balance = r.balance, updated_at = now()
     FROM json_to_recordset(${rows}) AS r(user_id text, balance bigint) WHERE a.user_id = r.user_id`,
  mustMatch: 'an account saved does not exist; add it before saving it',
};

/** Accounts on the transaction's client; saves go with the transaction's other writes. */
export class PgAccountRepository implements AccountRepository {
  constructor(private readonly tx: PgTransaction) {}

  async get(userId: UserId): Promise<Account | null> {
    // The row lock is what serialises concurrent debits of one balance.
    const { rows } = await this.tx.query('SELECT user_id, balance FROM accounts WHERE user_id = $1 FOR UPDATE', [
      userId,
    ]);
    return rows[0] ? Account.rehydrate(toAccount(rows[0])) : null;
  }

  async getMany(userIds: readonly UserId[]): Promise<Map<UserId, Account>> {
    const found = new Map<UserId, Account>();
    if (userIds.length === 0) return found;
    // Locked in one order, so two transactions locking overlapping sets never wait on each other in a cycle.
    const { rows } = await this.tx.query(
      'SELECT user_id, balance FROM accounts WHERE user_id = ANY($1::text[]) ORDER BY user_id FOR UPDATE',
      [userIds],
    );
    for (const row of rows) {
      const account = Account.rehydrate(toAccount(row));
      found.set(account.userId, account);
    }
    return found;
  }

  async add(account: Account): Promise<void> {
    const a = account.snapshot();
    try {
      await this.tx.query('INSERT INTO accounts (user_id, balance) VALUES ($1, $2)', [a.userId, a.balance]);
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict('account_exists', `an account for user ${a.userId} exists already`);
      throw err;
    }
  }

  async save(account: Account): Promise<void> {
    const a = account.snapshot();
    this.tx.write(ACCOUNT_BALANCES, a.userId, { user_id: a.userId, balance: a.balance });
  }
}
