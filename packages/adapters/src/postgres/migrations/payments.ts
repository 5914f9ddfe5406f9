import {
  deadLetters,
  deliveryAttempts,
  expectRows,
  idempotencyResponseText,
  messagingTables,
  outboxFillfactor,
  outboxTransactionOrder,
  retentionIndexes,
} from './messaging.js';
import type { Migration } from './migration.js';

/** The payments service's schema, in order. */
export const paymentsMigrations: readonly Migration[] = [
  {
    id: '001_accounts_payments',
    sql: `
CREATE TABLE accounts (
  user_id     text        PRIMARY KEY,
  -- The last line of defence: no code path may take a balance below zero.
  balance     bigint      NOT NULL CHECK (balance >= 0),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

-- One decision per order: the primary key is what makes a second debit for an order impossible.
CREATE TABLE payments (
  order_id        uuid        PRIMARY KEY,
  user_id         text        NOT NULL,
  amount          bigint      NOT NULL CHECK (amount > 0),
  status          text        NOT NULL CHECK (status IN ('SUCCEEDED', 'FAILED')),
  failure_reason  text,
  created_at      timestamptz NOT NULL,
  CHECK ((status = 'FAILED') = (failure_reason IS NOT NULL))
);
`,
  },
  messagingTables,
  retentionIndexes,
  deliveryAttempts,
  idempotencyResponseText,
  outboxFillfactor,
  expectRows,
  outboxTransactionOrder,
  deadLetters,
];
