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
}
