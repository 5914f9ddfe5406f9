import { DEFAULT_POISON_EPISODE_MS, type DeliveryCounter } from '@gozon/messaging';
import type { SqlClient } from './sql.js';

/**
 * Redelivery counts in `delivery_attempts`. Give it the database itself, not a transaction's
 * client: each count is one autocommitted statement, durable before the handling it guards begins.
 */
export class PgDeliveryCounter implements DeliveryCounter {
  constructor(
    private readonly db: SqlClient,
    private readonly episodeMs: number = DEFAULT_POISON_EPISODE_MS,
  ) {}

  async count(consumer: string, messageId: string): Promise<number> {
    // One statement, so concurrent counts of one message each get their own number.
    const { rows } = await this.db.query<{ redeliveries: number }>(
      `INSERT INTO delivery_attempts (consumer, message_id) VALUES ($1, $2)
       ON CONFLICT (consumer, message_id) DO UPDATE
         SET redeliveries = CASE
               WHEN delivery_attempts.last_seen_at < now() - make_interval(secs => $3) THEN 1
               ELSE delivery_attempts.redeliveries + 1
             END,
             last_seen_at = now()
       RETURNING redeliveries`,
      [consumer, messageId, this.episodeMs / 1000],
    );
    const count = rows[0]?.redeliveries;
    if (typeof count !== 'number') throw new Error('delivery_attempts: the upsert returned no count');
    return count;
  }

  async takeBack(consumer: string, messageId: string): Promise<void> {
    await this.db.query(
      `UPDATE delivery_attempts SET redeliveries = redeliveries - 1
        WHERE consumer = $1 AND message_id = $2 AND redeliveries > 0`,
      [consumer, messageId],
    );
  }
}
