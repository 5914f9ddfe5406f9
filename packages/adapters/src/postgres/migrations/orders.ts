import {
  deliveryAttempts,
  expectRows,
  idempotencyResponseText,
  messagingTables,
  outboxFillfactor,
  outboxTransactionOrder,
  retentionIndexes,
} from './messaging.js';
import type { Migration } from './migration.js';

/** The orders service's schema, in order. */
export const ordersMigrations: readonly Migration[] = [
  {
    id: '001_orders',
    sql: `
CREATE TABLE orders (
  id              uuid        PRIMARY KEY,
  user_id         text        NOT NULL,
  amount          bigint      NOT NULL CHECK (amount > 0),
  description     text        NOT NULL DEFAULT '',
  status          text        NOT NULL CHECK (status IN ('NEW', 'FINISHED', 'CANCELLED')),
  failure_reason  text,
  created_at      timestamptz NOT NULL,
  updated_at      timestamptz NOT NULL,
  CHECK ((status = 'CANCELLED') = (failure_reason IS NOT NULL))
);
-- A user's orders, newest first; id breaks ties so the listing is stable.
CREATE INDEX orders_by_user ON orders (user_id, created_at DESC, id DESC);
`,
  },
  messagingTables,
  {
    id: '003_orders_awaiting_outcome',
    sql: `
-- Orders waiting for their payment outcome, for the metrics scrape; small, since orders settle in seconds.
CREATE INDEX orders_awaiting_outcome ON orders (created_at) WHERE status = 'NEW';
`,
  },
  retentionIndexes,
  deliveryAttempts,
  idempotencyResponseText,
  outboxFillfactor,
  expectRows,
  outboxTransactionOrder,
  {
    id: '016_orders_ask_again',
    sql: `
-- How many times each order asked for its payment, and when a NEW one asks again (null once final).
-- Adding the columns rewrites nothing; orders NEW before this ask again 30 s after they were placed.
ALTER TABLE orders ADD COLUMN payment_asks integer NOT NULL DEFAULT 1,
                   ADD COLUMN ask_again_at timestamptz;
UPDATE orders SET ask_again_at = created_at + interval '30 seconds' WHERE status = 'NEW';
-- The sweep reads due orders from here; the metrics scrape counts NEW orders from it, as before.
DROP INDEX orders_awaiting_outcome;
CREATE INDEX orders_awaiting_outcome ON orders (ask_again_at) WHERE status = 'NEW';
`,
  },
];
