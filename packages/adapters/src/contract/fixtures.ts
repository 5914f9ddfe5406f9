import {
  Money,
  Order,
  OrderId,
  Routes,
  MessageTypes,
  UserId,
  type Actor,
  type AccountQueries,
  type Inbox,
  type IdempotencyStore,
  type OrderQueries,
  type OrdersTx,
  type Outbox,
  type OutgoingMessage,
  type PaymentsTx,
  type UnitOfWork,
} from '@gozon/core';
import {
  type MessagePublisher,
  type MessageSubscriber,
  type OutboxStore,
  type RetryPolicy,
  type WireMessage,
} from '@gozon/messaging';

/** The tables every service database has: outbox, inbox and idempotency keys. */
export interface MessagingTx {
  readonly outbox: Outbox;
  readonly inbox: Inbox;
  readonly idempotency: IdempotencyStore;
}

/** A fresh, empty service database behind the ports; `close` releases it. */
export interface StoreFixture<Tx extends MessagingTx> {
  readonly uow: UnitOfWork<Tx>;
  readonly outbox: OutboxStore;
  close(): Promise<void>;
}

export interface OrdersStoreFixture extends StoreFixture<OrdersTx> {
  readonly queries: OrderQueries;
}

export interface PaymentsStoreFixture extends StoreFixture<PaymentsTx> {
  readonly queries: AccountQueries;
}

/** A broker with the GoZon topology declared, in a namespace of its own (e.g. a vhost). */
export interface BrokerFixture {
  readonly publisher: MessagePublisher;
  readonly subscriber: MessageSubscriber;
  /** Puts a message on a queue exactly as given, bypassing the codec. */
  injectRaw(queue: string, message: WireMessage): Promise<void>;
  /** Takes the messages that have reached `<queue>.dlq` so far. */
  deadLetters(queue: string): Promise<WireMessage[]>;
  close(): Promise<void>;
}

export type Factory<F> = () => Promise<F>;
export type BrokerFactory = (retry: RetryPolicy) => Promise<BrokerFixture>;

let counter = 0;
/** A unique id for this test run: tests never share rows. */
/** A signed-in caller: `userId`, an administrator if `admin`. */
export const actor = (userId: string, admin = false): Actor => ({ userId: UserId(userId), admin });

export const uniqueUser = (prefix = 'user'): UserId =>
  UserId(`${prefix}-${process.pid}-${Date.now().toString(36)}-${(counter += 1)}`);

export const newOrderId = (): OrderId => OrderId(globalThis.crypto.randomUUID());

export const FIXED_NOW = new Date('2026-01-01T12:00:00.000Z');

export const anOrder = (
  overrides: Partial<{
    id: OrderId;
    userId: UserId;
    amount: number;
    description: string;
    now: Date;
    askAgainAt: Date;
  }> = {},
): Order =>
  Order.place({
    id: overrides.id ?? newOrderId(),
    userId: overrides.userId ?? uniqueUser(),
    amount: Money.amount(overrides.amount ?? 1500),
    description: overrides.description ?? 'a test order',
    now: overrides.now ?? FIXED_NOW,
    ...(overrides.askAgainAt ? { askAgainAt: overrides.askAgainAt } : {}),
  });

export const aPaymentRequest = (
  overrides: Partial<{ id: string; orderId: string; userId: string; amount: number }> = {},
): OutgoingMessage => {
  const orderId = overrides.orderId ?? newOrderId();
  return {
    routingKey: Routes.orderPayments,
    envelope: {
      id: overrides.id ?? globalThis.crypto.randomUUID(),
      type: MessageTypes.paymentRequested,
      correlationId: orderId,
      occurredAt: FIXED_NOW.toISOString(),
      payload: { order_id: orderId, user_id: overrides.userId ?? uniqueUser(), amount: overrides.amount ?? 100 },
      headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
    },
  };
};

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns true, or fails after `timeoutMs`. */
export const eventually = async (
  check: () => Promise<boolean> | boolean,
  timeoutMs = 5_000,
  what = 'condition',
): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
};

export class Boom extends Error {
  constructor() {
    super('boom: the work failed on purpose');
  }
}

/** Awaits a promise that must reject and returns what it rejected with. */
export const rejectionOf = async (promise: Promise<unknown>): Promise<unknown> => {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected the promise to reject, but it resolved');
};
