import { conflict, type OutgoingMessage, type Outbox } from '@gozon/core';
import { json } from './rows.js';
import { isUniqueViolation, type SqlClient } from './sql.js';

/** The channel relays listen on for "the outbox has new rows". */
export const DEFAULT_OUTBOX_CHANNEL = 'gozon_outbox';

/** The transaction side of the outbox: rows become visible to relays when the transaction commits. */
export class PgOutbox implements Outbox {
  /** `channel` null: append without notifying (relays then rely on polling). */
  constructor(
    private readonly client: SqlClient,
    private readonly channel: string | null = DEFAULT_OUTBOX_CHANNEL,
  ) {}

  async append(message: OutgoingMessage): Promise<void> {
    const e = message.envelope;
    try {
      await this.client.query(
        `INSERT INTO outbox (message_id, routing_key, type, correlation_id, causation_id, occurred_at, payload, headers)
         VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb)`,
        [
          e.id,
          message.routingKey,
          e.type,
          e.correlationId,
          e.causationId ?? null,
          e.occurredAt,
          json(e.payload),
          json(e.headers ?? {}),
        ],
      );
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict('message_exists', `message ${e.id} is in the outbox already`);
      throw err;
    }
    // Postgres delivers a notification only when (and if) the transaction commits, and folds
    // repeats within one transaction into one.
    if (this.channel !== null) await this.client.query('SELECT pg_notify($1, $2)', [this.channel, '']);
  }
}
