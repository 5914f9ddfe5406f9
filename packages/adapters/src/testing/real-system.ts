import {
  ApplyPaymentOutcome,
  ChargeOnPaymentRequested,
  CreateAccount,
  Deposit,
  GetBalance,
  GetOrder,
  ListOrders,
  PlaceOrder,
  randomIds,
  Routes,
  systemClock,
  type MessageEnvelope,
} from '@gozon/core';
import {
  RelayLoop,
  RelayOutbox,
  type MessageHandler,
  type MessagePublisher,
  type OutboxStore,
  type RetryPolicy,
  type Subscription,
} from '@gozon/messaging';
import type { SystemFixture } from '../contract/flow.contract.js';
import {
  ordersUnitOfWork,
  paymentsUnitOfWork,
  PgAccountQueries,
  PgOrderQueries,
  PgOutboxListener,
  PgOutboxStore,
} from '../postgres/index.js';
import { RabbitPublisher, RabbitSubscriber } from '../rabbitmq/index.js';
import { createTestDatabase } from './postgres.js';
import { createRabbitTestBed, type RabbitTestBed } from './rabbitmq.js';

export interface RealSystemOptions {
  readonly retry?: RetryPolicy;
  /** How long a relay's claim lasts; short in tests that simulate a relay crash. */
  readonly leaseMs?: number;
  /** Leave the orders relay stopped until `startOrdersRelay()` (tests that relay by hand). */
  readonly holdOrdersRelay?: boolean;
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

/**
 * The whole flow on the real servers: two fresh Postgres databases, a fresh RabbitMQ vhost, both
 * relays (woken by NOTIFY) and both consumers, wired exactly as the services wire them.
 */
export const createRealSystem = async (options: RealSystemOptions = {}): Promise<RealSystem> => {
  const retry = options.retry ?? { maxAttempts: 3, baseDelayMs: 20, maxDelayMs: 100 };
  const leaseMs = options.leaseMs ?? 30_000;
  const ordersDb = await createTestDatabase('orders');
  const paymentsDb = await createTestDatabase('payments');
  const bed = await createRabbitTestBed({
    topology: { exchange: 'gozon', queues: [Routes.orderPayments, Routes.paymentStatus], retry },
  });
  const rabbitPublisher = new RabbitPublisher(bed.connection);
  let duplicate = false;
  const publisher: MessagePublisher = {
    publish: async (batch) => {
      await rabbitPublisher.publish(batch);
      if (duplicate) await rabbitPublisher.publish(batch);
    },
  };
  const subscriber = new RabbitSubscriber(bed.connection, { prefetch: 50, retry });

  const ordersUow = ordersUnitOfWork(ordersDb.db);
  const paymentsUow = paymentsUnitOfWork(paymentsDb.db);
  const ordersOutbox = new PgOutboxStore(ordersDb.db);
  const paymentsOutbox = new PgOutboxStore(paymentsDb.db);
  const placeOrder = new PlaceOrder(ordersUow, systemClock, randomIds);
  const applyOutcome = new ApplyPaymentOutcome(ordersUow, systemClock);
  const charge = new ChargeOnPaymentRequested(paymentsUow, systemClock, randomIds);

  const loops: RelayLoop[] = [];
  const listeners: PgOutboxListener[] = [];
  for (const [store, url] of [
    [ordersOutbox, ordersDb.url],
    [paymentsOutbox, paymentsDb.url],
  ] as const) {
    const loop = new RelayLoop(new RelayOutbox(store, publisher, { batchSize: 100, leaseMs }), {
      pollMs: 100,
      minBackoffMs: 10,
      maxBackoffMs: 200,
    });
    if (!(options.holdOrdersRelay && store === ordersOutbox)) loop.start();
    const listener = new PgOutboxListener(url, () => loop.wake());
    await listener.start();
    loops.push(loop);
    listeners.push(listener);
  }

  let inFlight = 0;
  const deliveries: Record<string, string[]> = { [Routes.orderPayments]: [], [Routes.paymentStatus]: [] };
  const counted =
    (queue: string, handler: MessageHandler): MessageHandler =>
    async (message) => {
      inFlight += 1;
      deliveries[queue]?.push(message.id);
      try {
        await handler(message);
      } finally {
        inFlight -= 1;
      }
    };
  // Batches as the services run them: what waits together is handled in one transaction.
  const countedBatch =
    (queue: string, handler: (messages: readonly MessageEnvelope[]) => Promise<void>) =>
    async (messages: readonly MessageEnvelope[]): Promise<void> => {
      inFlight += 1;
      deliveries[queue]?.push(...messages.map((m) => m.id));
      try {
        await handler(messages);
      } finally {
        inFlight -= 1;
      }
    };
  const subscriptions: Subscription[] = [
    await subscriber.subscribe(
      Routes.orderPayments,
      counted(Routes.orderPayments, async (m) => {
        await charge.execute(m);
      }),
      {
        batch: countedBatch(Routes.orderPayments, async (m) => {
          await charge.executeAll(m);
        }),
      },
    ),
    await subscriber.subscribe(
      Routes.paymentStatus,
      counted(Routes.paymentStatus, async (m) => {
        await applyOutcome.execute(m);
      }),
      {
        batch: countedBatch(Routes.paymentStatus, async (m) => {
          await applyOutcome.executeAll(m);
        }),
      },
    ),
  ];

  const quiet = async (): Promise<boolean> => await looksQuiet().catch(() => false);
  const looksQuiet = async (): Promise<boolean> =>
    inFlight === 0 &&
    (await ordersOutbox.pending()) === 0 &&
    (await paymentsOutbox.pending()) === 0 &&
    (await bed.queues.depth(Routes.orderPayments)) === 0 &&
    (await bed.queues.depth(Routes.paymentStatus)) === 0;

  return {
    bed,
    ordersOutbox,
    paymentsOutbox,
    publisher,
    deliveries,
    startOrdersRelay: () => loops[0]?.start(),
    placeOrder,
    getOrder: new GetOrder(new PgOrderQueries(ordersDb.db)),
    listOrders: new ListOrders(new PgOrderQueries(ordersDb.db)),
    createAccount: new CreateAccount(paymentsUow),
    deposit: new Deposit(paymentsUow),
    getBalance: new GetBalance(new PgAccountQueries(paymentsDb.db)),
    settle: async () => {
      // A message between the broker and a handler shows nowhere; several quiet looks in a row
      // leave it time to surface.
      const deadline = Date.now() + 20_000;
      let streak = 0;
      while (streak < 5) {
        if (Date.now() > deadline) throw new Error('the system did not settle within 20 s');
        streak = (await quiet()) ? streak + 1 : 0;
        await new Promise((resolve) => setTimeout(resolve, 30));
      }
    },
    duplicateEveryMessage: (on) => {
      duplicate = on;
    },
    injectRaw: (queue, message) => bed.injectRaw(queue, message),
    deadLetters: (queue) => bed.queues.take(`${queue}.dlq`),
    close: async () => {
      await Promise.all(subscriptions.map((s) => s.close()));
      await Promise.all(loops.map((l) => l.stop()));
      await Promise.all(listeners.map((l) => l.close()));
      await rabbitPublisher.close();
      await bed.close();
      await ordersDb.drop();
      await paymentsDb.drop();
    },
  };
};
