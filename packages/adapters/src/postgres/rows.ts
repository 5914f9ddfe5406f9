import type {
  AccountSnapshot,
  FailureReason,
  OrderId,
  OrderSnapshot,
  OrderStatus,
  PaymentSnapshot,
  PaymentStatus,
  UserId,
} from '@gozon/core';
import type { ClaimedMessage } from '@gozon/messaging';

// Engines hand back int8 as a string (node-postgres) or a bigint (PGlite) and timestamps as Date
// or string; these mappers accept either, so adapters stay engine-neutral. Amounts stay well
// inside Number's safe range (at most 1e12 each).
const int = (value: unknown): number => Number(value);
const date = (value: unknown): Date => (value instanceof Date ? value : new Date(String(value)));

export const ORDER_COLUMNS =
  'id, user_id, amount, description, status, failure_reason, created_at, updated_at, payment_asks, ask_again_at';

export const toOrder = (row: Record<string, unknown>): OrderSnapshot => ({
  id: row.id as OrderId,
  userId: row.user_id as UserId,
  amount: int(row.amount),
  description: row.description as string,
  status: row.status as OrderStatus,
  failureReason: (row.failure_reason as FailureReason | null) ?? null,
  createdAt: date(row.created_at),
  updatedAt: date(row.updated_at),
  paymentAsks: int(row.payment_asks),
  askAgainAt: row.ask_again_at === null || row.ask_again_at === undefined ? null : date(row.ask_again_at),
});

export const toAccount = (row: Record<string, unknown>): AccountSnapshot => ({
  userId: row.user_id as UserId,
  balance: int(row.balance),
});

export const PAYMENT_COLUMNS = 'order_id, user_id, amount, status, failure_reason, created_at';

export const toPayment = (row: Record<string, unknown>): PaymentSnapshot => ({
  orderId: row.order_id as OrderId,
  userId: row.user_id as UserId,
  amount: int(row.amount),
  status: row.status as PaymentStatus,
  failureReason: (row.failure_reason as FailureReason | null) ?? null,
  createdAt: date(row.created_at),
});

/** What a claim hands back, less `attempts`, which the claim computes. */
export const OUTBOX_COLUMNS =
  'position, message_id, routing_key, type, correlation_id, causation_id, occurred_at, payload, headers';

export const toClaimed = (row: Record<string, unknown>): ClaimedMessage => ({
  position: int(row.position),
  attempts: int(row.attempts),
  routingKey: row.routing_key as string,
  envelope: {
    id: row.message_id as string,
    type: row.type as string,
    correlationId: row.correlation_id as string,
    // Absent rather than undefined, so a claimed envelope equals the one appended.
    ...(row.causation_id === null || row.causation_id === undefined ? {} : { causationId: row.causation_id as string }),
    occurredAt: date(row.occurred_at).toISOString(),
    payload: row.payload,
    headers: (row.headers ?? {}) as Record<string, string>,
  },
});

/** JSON for a jsonb parameter; drivers would turn a bare array into a Postgres array. */
export const json = (value: unknown): string | null => (value === undefined ? null : JSON.stringify(value));
