import type { DeadLetter, DeadLetterStore, StoredDeadLetter } from '@gozon/messaging';
import { findableId, propertiesText, storableText, storedLetter } from '../dead-letter-text.js';
import type { SqlClient } from './sql.js';

/**
 * Dead letters in `dead_letters`, the embedded bus's dead-letter queue. Give it the database
 * itself, not a transaction's client: a letter is one autocommitted statement, durable before
 * the bus lets the message go.
 */
export class PgDeadLetterStore implements DeadLetterStore {
  constructor(private readonly db: SqlClient) {}

  async add(letter: DeadLetter): Promise<void> {
    await this.db.query(
      `INSERT INTO dead_letters (queue, message_id, properties, body, reason) VALUES ($1, $2, $3, $4, $5)`,
      [
        storableText(letter.queue),
        findableId(letter.message),
        propertiesText(letter.message),
        Buffer.from(letter.message.body),
        storableText(letter.reason),
      ],
    );
  }

  async list(): Promise<StoredDeadLetter[]> {
    const { rows } = await this.db.query<Parameters<typeof storedLetter>[0]>(
      'SELECT id, queue, properties, body, reason, dead_lettered_at FROM dead_letters ORDER BY id',
    );
    return rows.map(storedLetter);
  }

  /** How many dead letters of `queue` are kept: the depth of its dead-letter queue. */
  async depth(queue: string): Promise<number> {
    const { rows } = await this.db.query<{ n: string | number }>(
      'SELECT count(*) AS n FROM dead_letters WHERE queue = $1',
      [queue],
    );
    return Number(rows[0]?.n ?? 0);
  }

  async remove(id: string): Promise<boolean> {
    if (!/^\d{1,18}$/u.test(id)) return false;
    const { rowCount } = await this.db.query('DELETE FROM dead_letters WHERE id = $1', [id]);
    return rowCount > 0;
  }
}
