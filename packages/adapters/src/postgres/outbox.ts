import { conflict, type OutgoingMessage, type Outbox } from '@gozon/core';
import type { CommitDispatcher } from '@gozon/messaging';
import type { PgTransaction, RowWrite } from './batched-transaction.js';

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

/** An outbox row as `OUTBOX_ROWS` writes it. */
type OutboxRow = Record<string, unknown>;

/**
 * How a unit of work writes an appended message, and what follows its commit: chosen once, when a
 * service is composed, by how its messages leave the outbox.
 */
export interface OutboxAppend {
  /** Adds the row of `message` to the transaction `tx`. */
  write(tx: PgTransaction, message: OutgoingMessage, row: OutboxRow): void;
}

/**
 * Rows free for any relay, announced with a NOTIFY on `channel` (null: relays poll). Postgres
 * delivers it only when (and if) the transaction commits, and folds repeats into one.
 */
export const announcedAppend = (channel: string | null = DEFAULT_OUTBOX_CHANNEL): OutboxAppend => ({
  write: (tx, message, row) => {
    tx.write(OUTBOX_ROWS, message.envelope.id, row);
    if (channel !== null) tx.announce(channel);
  },
});

/**
 * Rows leased to `dispatcher`, which publishes them itself once the transaction commits (see
 * `CommitDispatcher`); not announced, since the relay takes them only if that lease runs out.
 */
export const dispatchedAppend = (dispatcher: CommitDispatcher): OutboxAppend => ({
  write: (tx, message, row) => {
    tx.write(LEASED_OUTBOX_ROWS, message.envelope.id, { ...row, lease_ms: dispatcher.options.leaseMs });
    tx.afterCommit(() => dispatcher.dispatch([message]));
  },
});

/**
 * The transaction side of the outbox: rows become visible to relays when the transaction commits.
 * They go with the transaction's other writes, as `writing` says (announced, or handed to a dispatcher).
 */
export class PgOutbox implements Outbox {
  constructor(
    private readonly tx: PgTransaction,
    private readonly writing: OutboxAppend = announcedAppend(),
  ) {}

  async append(message: OutgoingMessage): Promise<void> {
    const e = message.envelope;
    this.writing.write(this.tx, message, {
      message_id: e.id,
      routing_key: message.routingKey,
      type: e.type,
      correlation_id: e.correlationId,
      causation_id: e.causationId ?? null,
      occurred_at: e.occurredAt,
      payload: e.payload,
      headers: e.headers ?? {},
    });
  }
}
