import { conflict, type OutgoingMessage, type Outbox } from '@gozon/core';
import { json } from './rows.js';
import { isUniqueViolation, type SqlClient } from './sql.js';

/** The channel relays listen on for "the outbox has new rows". */
export const DEFAULT_OUTBOX_CHANNEL = 'gozon_outbox';

const INSERT = `INSERT INTO outbox (message_id, routing_key, type, correlation_id, causation_id, occurred_at, payload, headers)
  VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb)`;

const INSERT_AND_NOTIFY = `WITH appended AS (${INSERT} RETURNING 1) SELECT pg_notify($9, '') FROM appended`;

/** The transaction side of the outbox: rows become visible to relays when the transaction commits. */
export class PgOutbox implements Outbox {
  /** `channel` null: append without notifying (relays then rely on polling). */
  constructor(
    private readonly client: SqlClient,
    private readonly channel: string | null = DEFAULT_OUTBOX_CHANNEL,
  ) {}

  async append(message: OutgoingMessage): Promise<void> {
    const e = message.envelope;
    const params = [
      e.id,
      message.routingKey,
      e.type,
      e.correlationId,
      e.causationId ?? null,
      e.occurredAt,
      json(e.payload),
      json(e.headers ?? {}),
    ];
    try {
      // With a channel, the row and its NOTIFY go in one statement: one round trip, not two.
      // Postgres delivers a notification only when (and if) the transaction commits, and folds
      // repeats within one transaction into one.
      await this.client.query(
        this.channel === null ? INSERT : INSERT_AND_NOTIFY,
        this.channel === null ? params : [...params, this.channel],
      );
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict('message_exists', `message ${e.id} is in the outbox already`);
      throw err;
    }
  }
}
