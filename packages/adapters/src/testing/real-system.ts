import { randomIds, Routes, systemClock } from '@gozon/core';
import {
  HeldRelay,
  type MessagePublisher,
  type MessageSubscriber,
  type OutboxStore,
  type RetryPolicy,
} from '@gozon/messaging';
import {
  composeOrders,
  composePayments,
  PublishOnCommit,
  RelayAlone,
  type DispatchStrategy,
  type HandlerWrapper,
} from '../composition/index.js';
import type { SystemFixture } from '../contract/flow.contract.js';
import {
  ordersUnitOfWork,
  paymentsUnitOfWork,
  PgAccountQueries,
  PgOrderQueries,
  PgOutboxListener,
  PgOutboxStore,
  pgOutboxHold,
} from '../postgres/index.js';
import { RabbitPublisher, RabbitSubscriber } from '../rabbitmq/index.js';
import { createTestDatabase, type TestDatabase } from './postgres.js';
import { createRabbitTestBed, type RabbitTestBed } from './rabbitmq.js';

export interface RealSystemOptions {
  readonly retry?: RetryPolicy;
  /** How long a relay's claim lasts; short in tests that simulate a relay crash. */
  readonly leaseMs?: number;
  /** Leave the orders service (its relay and consumer) stopped until `startOrdersRelay()` (tests that relay by hand). */
  readonly holdOrdersRelay?: boolean;
  /**
   * Publish on commit with the relay as a backstop, as the services do on RabbitMQ (the default);
   * false: the relay alone, as they do on the embedded bus (tests that must see each row relayed).
   */
  readonly publishOnCommit?: boolean;
}

export interface RealSystem extends SystemFixture {
  readonly bed: RabbitTestBed;
  readonly ordersOutbox: OutboxStore;
  readonly paymentsOutbox: OutboxStore;
  readonly publisher: MessagePublisher;
  /** Every delivery each consumer was handed, by queue: message ids, repeats included. */
  readonly deliveries: Record<string, string[]>;
  startOrdersRelay(): void;
}

/** A publisher that can be told to send every message twice. */
const duplicating = (rabbit: RabbitPublisher) => {
  let twice = false;
  const publisher: MessagePublisher = {
    publish: async (batch) => {
      await rabbit.publish(batch);
      if (twice) await rabbit.publish(batch);
    },
  };
  return { publisher, duplicate: (on: boolean) => void (twice = on) };
};

/** Records what each consumer is handed, and how many handlings are under way. */
const recordingDeliveries = () => {
  let inFlight = 0;
  const deliveries: Record<string, string[]> = { [Routes.orderPayments]: [], [Routes.paymentStatus]: [] };
  const counted = async (queue: string, ids: readonly string[], handle: () => Promise<unknown>): Promise<void> => {
    inFlight += 1;
    deliveries[queue]?.push(...ids);
    try {
      await handle();
    } finally {
      inFlight -= 1;
    }
  };
  const wrapper: HandlerWrapper = {
    handler: (queue, execute) => (message) => counted(queue, [message.id], () => execute(message)),
    batch: (queue, executeAll) => (messages) =>
      counted(
        queue,
        messages.map((m) => m.id),
        () => executeAll(messages),
      ),
  };
  return { deliveries, wrapper, idle: () => inFlight === 0 };
};

/** A service's outbox, its dispatch as the services choose it on a Postgres server, and the NOTIFY that wakes it. */
const dispatchOn = async (database: TestDatabase, publisher: MessagePublisher, options: RealSystemOptions) => {
  const store = new PgOutboxStore(database.db);
  const step = new HeldRelay(store, pgOutboxHold(database.db), publisher, {
    batchSize: 100,
    leaseMs: options.leaseMs ?? 30_000,
  });
  const loop = { pollMs: 100, minBackoffMs: 10, maxBackoffMs: 200 };
  const dispatch: DispatchStrategy =
    options.publishOnCommit === false ? new RelayAlone(step, loop) : new PublishOnCommit(store, publisher, step, loop);
  const listener = new PgOutboxListener(database.url, () => dispatch.wake());
  await listener.start();
  return { store, dispatch, listener };
};

/** Both services on their databases, composed as the services compose them. */
const composeBoth = async (
  ordersDb: TestDatabase,
  paymentsDb: TestDatabase,
  wiring: { publisher: MessagePublisher; subscriber: MessageSubscriber; handlers: HandlerWrapper },
  options: RealSystemOptions,
) => {
  const ordersOut = await dispatchOn(ordersDb, wiring.publisher, options);
  const paymentsOut = await dispatchOn(paymentsDb, wiring.publisher, options);
  const ports = { subscriber: wiring.subscriber, clock: systemClock, ids: randomIds };
  const orders = composeOrders(
    {
      ...ports,
      uow: ordersUnitOfWork(ordersDb.db, { append: ordersOut.dispatch.append }),
      queries: new PgOrderQueries(ordersDb.db),
    },
    ordersOut.dispatch,
    { handlers: wiring.handlers },
  );
  const payments = composePayments(
    {
      ...ports,
      uow: paymentsUnitOfWork(paymentsDb.db, { append: paymentsOut.dispatch.append }),
      queries: new PgAccountQueries(paymentsDb.db),
    },
    paymentsOut.dispatch,
    { handlers: wiring.handlers },
  );
  return { orders, ordersOut, payments, paymentsOut };
};

/**
 * The whole flow on the real servers: two fresh Postgres databases, a fresh RabbitMQ vhost, and
 * both services composed exactly as the services compose them (`composeOrders`, `composePayments`).
 */
export const createRealSystem = async (options: RealSystemOptions = {}): Promise<RealSystem> => {
  const retry = options.retry ?? { maxAttempts: 3, baseDelayMs: 20, maxDelayMs: 100 };
  const ordersDb = await createTestDatabase('orders');
  const paymentsDb = await createTestDatabase('payments');
  const bed = await createRabbitTestBed({
    topology: { exchange: 'gozon', queues: [Routes.orderPayments, Routes.paymentStatus], retry },
  });
  const rabbit = new RabbitPublisher(bed.connection);
  const { publisher, duplicate } = duplicating(rabbit);
  const recorded = recordingDeliveries();
  const subscriber = new RabbitSubscriber(bed.connection, { prefetch: 50, retry });
  const wiring = { publisher, subscriber, handlers: recorded.wrapper };
  const { orders, ordersOut, payments, paymentsOut } = await composeBoth(ordersDb, paymentsDb, wiring, options);
  await payments.start();
  if (!options.holdOrdersRelay) await orders.start();

  const looksQuiet = async (): Promise<boolean> =>
    recorded.idle() &&
    (await ordersOut.store.pending()) + (await paymentsOut.store.pending()) === 0 &&
    (await bed.queues.depth(Routes.orderPayments)) + (await bed.queues.depth(Routes.paymentStatus)) === 0;

  return {
    bed,
    ordersOutbox: ordersOut.store,
    paymentsOutbox: paymentsOut.store,
    publisher,
    deliveries: recorded.deliveries,
    startOrdersRelay: () => void orders.start(),
    placeOrder: orders.placeOrder,
    getOrder: orders.getOrder,
    listOrders: orders.listOrders,
    createAccount: payments.createAccount,
    deposit: payments.deposit,
    getBalance: payments.getBalance,
    settle: () => settle(() => looksQuiet().catch(() => false)),
    duplicateEveryMessage: duplicate,
    injectRaw: (queue, message) => bed.injectRaw(queue, message),
    deadLetters: (queue) => bed.queues.take(`${queue}.dlq`),
    close: async () => {
      await Promise.all([orders.stop(), payments.stop()]);
      await Promise.all([ordersOut.listener.close(), paymentsOut.listener.close()]);
      await rabbit.close();
      await bed.close();
      await Promise.all([ordersDb.drop(), paymentsDb.drop()]);
    },
  };
};

// A message between the broker and a handler shows nowhere; several quiet looks in a row leave it
// time to surface.
const settle = async (quiet: () => Promise<boolean>): Promise<void> => {
  const deadline = Date.now() + 20_000;
  let streak = 0;
  while (streak < 5) {
    if (Date.now() > deadline) throw new Error('the system did not settle within 20 s');
    streak = (await quiet()) ? streak + 1 : 0;
    await new Promise((resolve) => setTimeout(resolve, 30));
  }
};
