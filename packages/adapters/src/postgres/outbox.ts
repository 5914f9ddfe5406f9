import { conflict, type OutgoingMessage, type Outbox } from '@gozon/core';
import { type CommitDispatcher } from '@gozon/messaging';
import { PendingWrites, type RowWrite } from './pending-writes.js';
import type { SqlClient } from './sql.js';

/** The channel relays listen on for "the outbox has new rows". */
export const DEFAULT_OUTBOX_CHANNEL = 'gozon_outbox';

/** Outbox rows, in the order appended (their positions follow it). */
export const OUTBOX_ROWS: RowWrite = {
  table: 'outbox',
  sql: (rows) =>
    `INSERT INTO outbox (message_id, routing_key, type, correlation_id, causation_id, occurred_at, payload, headers)
     SELECT message_id, routing_key, type, correlation_id, causation_id, occurred_at, payload, headers
     FROM json_to_recordset(${rows}) AS r(message_id text, routing_key text, type text, correlation_id text,
       causation_id text, occurred_at timestamptz, payload jsonb, headers jsonb)`,
  onUniqueViolation: (detail) => conflict('message_exists', `a message is in the outbox already (${detail})`),
};

/** Outbox rows appended already leased (for `lease_ms`, on the database's clock) to the process that will publish them. */
export const LEASED_OUTBOX_ROWS: RowWrite = {
  table: 'outbox',
  sql: (rows) =>
    `INSERT INTO outbox (message_id, routing_key, type, correlation_id, causation_id, occurred_at, payload, headers, leased_until)
     SELECT message_id, routing_key, type, correlation_id, causation_id, occurred_at, payload, headers,
       now() + lease_ms * interval '1 millisecond'
     FROM json_to_recordset(${rows}) AS r(message_id text, routing_key text, type text, correlation_id text,
       causation_id text, occurred_at timestamptz, payload jsonb, headers jsonb, lease_ms integer)`,
  onUniqueViolation: (detail) => conflict('message_exists', `a message is in the outbox already (${detail})`),
};

/**
 * The transaction side of the outbox: rows become visible to relays when the transaction commits.
 * They go with the transaction's other writes, and with them a NOTIFY on the channel: Postgres
 * delivers it only when (and if) the transaction commits, and folds repeats into one.
 */
export class PgOutbox implements Outbox {
  /** `channel` null: append without notifying (relays then rely on polling). */
  constructor(
    private readonly client: SqlClient,
    private readonly channel: string | null = DEFAULT_OUTBOX_CHANNEL,
    private readonly writes: PendingWrites = new PendingWrites(false),
    /** Publishes the message itself once the transaction commits (see `CommitDispatcher`). */
    private readonly dispatcher?: CommitDispatcher,
  ) {}

  async append(message: OutgoingMessage): Promise<void> {
    const e = message.envelope;
    // Only a unit of work knows when its transaction commits; elsewhere the relay publishes.
    const dispatcher = this.writes.deferred ? this.dispatcher : undefined;
    const row = {
      message_id: e.id,
      routing_key: message.routingKey,
      type: e.type,
      correlation_id: e.correlationId,
      causation_id: e.causationId ?? null,
      occurred_at: e.occurredAt,
      payload: e.payload,
      headers: e.headers ?? {},
    };
    if (dispatcher) {
      this.writes.add(LEASED_OUTBOX_ROWS, e.id, { ...row, lease_ms: dispatcher.options.leaseMs });
      this.writes.afterCommit.push(() => dispatcher.dispatch([message]));
    } else {
      this.writes.add(OUTBOX_ROWS, e.id, row);
      if (this.channel !== null) this.writes.announce(this.channel);
    }
    await this.writes.settle(this.client);
  }
}
