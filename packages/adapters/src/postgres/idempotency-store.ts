import type { IdempotencyRecord, IdempotencyStore } from '@gozon/core';
import { json } from './rows.js';
import type { SqlClient } from './sql.js';

/** Idempotency keys on the transaction's client. */
export class PgIdempotencyStore implements IdempotencyStore {
  constructor(private readonly client: SqlClient) {}

  async claim(scope: string, key: string, fingerprint: string): Promise<IdempotencyRecord | null> {
    // As with the inbox, a concurrent claim waits here for the holder's transaction to end.
    const inserted = await this.client.query(
      `INSERT INTO idempotency_keys (scope, key, fingerprint) VALUES ($1, $2, $3)
       ON CONFLICT DO NOTHING RETURNING key`,
      [scope, key, fingerprint],
    );
    if (inserted.rowCount === 1) return null;
    // A new statement, so it sees the row the holder committed.
    const { rows } = await this.client.query<{ fingerprint: string; response: unknown }>(
      'SELECT fingerprint, response FROM idempotency_keys WHERE scope = $1 AND key = $2',
      [scope, key],
    );
    const row = rows[0];
    if (!row) throw new Error(`idempotency key ${key} vanished while being claimed`);
    return { fingerprint: row.fingerprint, response: row.response };
  }

  async complete(scope: string, key: string, response: unknown): Promise<void> {
    const { rowCount } = await this.client.query(
      'UPDATE idempotency_keys SET response = $3::json WHERE scope = $1 AND key = $2',
      [scope, key, json(response)],
    );
    if (rowCount !== 1) throw new Error(`idempotency key ${key} was not claimed`);
  }
}
