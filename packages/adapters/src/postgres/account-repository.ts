import { Account, conflict, type AccountRepository, type UserId } from '@gozon/core';
import { isUniqueViolation, type SqlClient } from './sql.js';
import { toAccount } from './rows.js';

/** Accounts on the transaction's client. */
export class PgAccountRepository implements AccountRepository {
  constructor(private readonly client: SqlClient) {}

  async get(userId: UserId): Promise<Account | null> {
    // The row lock is what serialises concurrent debits of one balance.
    const { rows } = await this.client.query('SELECT user_id, balance FROM accounts WHERE user_id = $1 FOR UPDATE', [
      userId,
    ]);
    return rows[0] ? Account.rehydrate(toAccount(rows[0])) : null;
  }

  async add(account: Account): Promise<void> {
    const a = account.snapshot();
    try {
      await this.client.query('INSERT INTO accounts (user_id, balance) VALUES ($1, $2)', [a.userId, a.balance]);
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict('account_exists', `an account for user ${a.userId} exists already`);
      throw err;
    }
  }

  async save(account: Account): Promise<void> {
    const a = account.snapshot();
    const { rowCount } = await this.client.query(
      'UPDATE accounts SET balance = $2, updated_at = now() WHERE user_id = $1',
      [a.userId, a.balance],
    );
    if (rowCount !== 1) throw new Error(`account ${a.userId} does not exist; add it before saving it`);
  }
}
