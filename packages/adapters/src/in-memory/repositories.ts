import {
  Account,
  conflict,
  Order,
  Payment,
  type AccountRepository,
  type IdempotencyStore,
  type Inbox,
  type OrderRepository,
  type Outbox,
  type PaymentRepository,
} from '@gozon/core';
import type { InMemoryDatabase } from './database.js';

/** Throws once the transaction the repositories were handed out for has ended. */
export type Guard = () => void;

const key = (...parts: string[]): string => parts.join('\u0000');

/** The aggregates of those `keys` that have a row in `rows`. */
const loadFrom = <K extends string, R, V>(
  rows: { get(key: string): R | undefined },
  keys: readonly K[],
  rehydrate: (row: R) => V,
): Map<K, V> => {
  const found = new Map<K, V>();
  for (const k of keys) {
    const row = rows.get(k);
    if (row) found.set(k, rehydrate(row));
  }
  return found;
};

export const ordersOf = (db: InMemoryDatabase, guard: Guard): OrderRepository => ({
  get: async (id) => {
    guard();
    const row = db.orders.get(id);
    return row ? Order.rehydrate({ ...row }) : null;
  },
  getMany: async (ids) => {
    guard();
    return loadFrom(db.orders, ids, (row) => Order.rehydrate({ ...row }));
  },
  // Transactions here run one at a time, so no order is ever held by another.
  dueToAskAgain: async (now, limit) => {
    guard();
    const due = [...db.orders.values()].filter(
      (row) => row.status === 'NEW' && row.askAgainAt !== null && row.askAgainAt.getTime() <= now.getTime(),
    );
    due.sort((a, b) => a.askAgainAt!.getTime() - b.askAgainAt!.getTime() || (a.id < b.id ? -1 : 1));
    return due.slice(0, limit).map((row) => Order.rehydrate({ ...row }));
  },
  save: async (order) => {
    guard();
    db.orders.set(order.id, order.snapshot());
  },
});

export const accountsOf = (db: InMemoryDatabase, guard: Guard): AccountRepository => ({
  get: async (userId) => {
    guard();
    const row = db.accounts.get(userId);
    return row ? Account.rehydrate(row) : null;
  },
  getMany: async (userIds) => {
    guard();
    return loadFrom(db.accounts, userIds, (row) => Account.rehydrate(row));
  },
  add: async (account) => {
    guard();
    if (db.accounts.has(account.userId)) {
      throw conflict('account_exists', `an account for user ${account.userId} exists already`);
    }
    db.accounts.set(account.userId, account.snapshot());
  },
  save: async (account) => {
    guard();
    // As on Postgres, where the update must change exactly one row (the unit of work then fails).
    if (!db.accounts.has(account.userId)) throw new Error('an account saved does not exist; add it before saving it');
    db.accounts.set(account.userId, account.snapshot());
  },
});

export const paymentsOf = (db: InMemoryDatabase, guard: Guard): PaymentRepository => ({
  get: async (orderId) => {
    guard();
    const row = db.payments.get(orderId);
    return row ? Payment.rehydrate({ ...row }) : null;
  },
  getMany: async (orderIds) => {
    guard();
    return loadFrom(db.payments, orderIds, (row) => Payment.rehydrate({ ...row }));
  },
  add: async (payment) => {
    guard();
    const snapshot = payment.snapshot();
    if (db.payments.has(snapshot.orderId)) {
      throw conflict('payment_exists', `order ${snapshot.orderId} has a payment already`);
    }
    db.payments.set(snapshot.orderId, snapshot);
  },
});

export const outboxOf = (db: InMemoryDatabase, guard: Guard): Outbox => ({
  append: async (message) => {
    guard();
    if (db.outbox.has(message.envelope.id)) {
      throw conflict('message_exists', `message ${message.envelope.id} is in the outbox already`);
    }
    db.appendOutbox({
      routingKey: message.routingKey,
      envelope: structuredClone(message.envelope),
      publishedAt: null,
      leasedUntil: 0,
      attempts: 0,
    });
  },
});

export const inboxOf = (db: InMemoryDatabase, guard: Guard): Inbox => {
  const record = (consumer: string, messageId: string): boolean => {
    const k = key(consumer, messageId);
    if (db.inbox.has(k)) return false;
    db.inbox.set(k, { at: new Date() });
    return true;
  };
  return {
    record: async (consumer, messageId) => {
      guard();
      return record(consumer, messageId);
    },
    recordAll: async (consumer, messageIds) => {
      guard();
      return messageIds.map((messageId) => record(consumer, messageId));
    },
  };
};

export const idempotencyOf = (db: InMemoryDatabase, guard: Guard): IdempotencyStore => ({
  claim: async (scope, idemKey, fingerprint) => {
    guard();
    const row = db.idempotency.get(key(scope, idemKey));
    if (row) return { fingerprint: row.fingerprint, response: structuredClone(row.response) };
    db.idempotency.set(key(scope, idemKey), { fingerprint, response: null, createdAt: new Date() });
    return null;
  },
  complete: async (scope, idemKey, response) => {
    guard();
    const row = db.idempotency.get(key(scope, idemKey));
    if (!row) throw new Error(`idempotency key ${idemKey} was not claimed`);
    db.idempotency.set(key(scope, idemKey), { ...row, response: structuredClone(response) });
  },
});
