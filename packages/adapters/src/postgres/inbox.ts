import type { Inbox } from '@gozon/core';
import type { SqlClient } from './sql.js';

/** The inbox on the transaction's client. */
export class PgInbox implements Inbox {
  constructor(private readonly client: SqlClient) {}

  async record(consumer: string, messageId: string): Promise<boolean> {
    // A concurrent insert of the same key makes this wait for that transaction: it inserts if the
    // other rolled back and does nothing if it committed.
    const { rowCount } = await this.client.query(
      'INSERT INTO inbox (consumer, message_id) VALUES ($1, $2) ON CONFLICT DO NOTHING',
      [consumer, messageId],
    );
    return rowCount === 1;
  }

  async recordAll(consumer: string, messageIds: readonly string[]): Promise<boolean[]> {
    if (messageIds.length === 0) return [];
    // Inserted in sorted order, so two batches sharing ids take their keys in one order. A repeat
    // within the list conflicts with its first insert and is not returned twice.
    const { rows } = await this.client.query<{ message_id: string }>(
      `INSERT INTO inbox (consumer, message_id)
       SELECT $1, id FROM unnest($2::text[]) AS id ORDER BY id
       ON CONFLICT DO NOTHING RETURNING message_id`,
      [consumer, messageIds],
    );
    const inserted = new Set(rows.map((row) => row.message_id));
    return messageIds.map((id) => inserted.delete(id));
  }
}
