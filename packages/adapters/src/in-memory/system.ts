import {
  ApplyPaymentOutcome,
  ChargeOnPaymentRequested,
  CreateAccount,
  Deposit,
  GetBalance,
  GetOrder,
  ListOrders,
  PlaceOrder,
  Routes,
  systemClock,
  randomIds,
  type Clock,
  type IdGenerator,
} from '@gozon/core';
import { RelayLoop, RelayOutbox, type RetryPolicy, type Subscription } from '@gozon/messaging';
import { InMemoryBroker } from './broker.js';
import { InMemoryDatabase } from './database.js';
import { InMemoryPublisher, InMemorySubscriber } from './messaging.js';
import { InMemoryOutboxStore } from './outbox-store.js';
import { InMemoryAccountQueries, InMemoryOrderQueries } from './queries.js';
import { InMemoryUnitOfWork } from './unit-of-work.js';

export interface InMemorySystemOptions {
  readonly clock?: Clock;
  readonly ids?: IdGenerator;
  readonly retry?: RetryPolicy;
  readonly prefetch?: number;
}

/**
 * The whole GoZon flow in one process on in-memory adapters: two databases (orders, payments),
 * one broker, both relays and both consumers. A harness for tests, here and in projects that
 * embed the core.
 */
export class InMemorySystem {
  readonly broker = new InMemoryBroker();
  readonly ordersDb = new InMemoryDatabase();
  readonly paymentsDb = new InMemoryDatabase();
  readonly publisher = new InMemoryPublisher(this.broker);
  readonly ordersOutbox: InMemoryOutboxStore;
  readonly paymentsOutbox: InMemoryOutboxStore;

  readonly placeOrder: PlaceOrder;
  readonly getOrder: GetOrder;
  readonly listOrders: ListOrders;
  readonly applyPaymentOutcome: ApplyPaymentOutcome;
  readonly createAccount: CreateAccount;
  readonly deposit: Deposit;
  readonly getBalance: GetBalance;
  readonly chargeOnPaymentRequested: ChargeOnPaymentRequested;

  private readonly subscriber: InMemorySubscriber;
  private readonly loops: RelayLoop[] = [];
  private subscriptions: Subscription[] = [];
  private readonly unlisten: Array<() => void> = [];

  constructor(options: InMemorySystemOptions = {}) {
    const clock = options.clock ?? systemClock;
    const ids = options.ids ?? randomIds;
    const ordersUow = new InMemoryUnitOfWork(this.ordersDb);
    const paymentsUow = new InMemoryUnitOfWork(this.paymentsDb);
    this.ordersOutbox = new InMemoryOutboxStore(this.ordersDb);
    this.paymentsOutbox = new InMemoryOutboxStore(this.paymentsDb);
    this.subscriber = new InMemorySubscriber(this.broker, {
      ...(options.retry ? { retry: options.retry } : {}),
      ...(options.prefetch ? { prefetch: options.prefetch } : {}),
    });

    this.placeOrder = new PlaceOrder(ordersUow, clock, ids);
    this.getOrder = new GetOrder(new InMemoryOrderQueries(this.ordersDb));
    this.listOrders = new ListOrders(new InMemoryOrderQueries(this.ordersDb));
    this.applyPaymentOutcome = new ApplyPaymentOutcome(ordersUow, clock);
    this.createAccount = new CreateAccount(paymentsUow);
    this.deposit = new Deposit(paymentsUow);
    this.getBalance = new GetBalance(new InMemoryAccountQueries(this.paymentsDb));
    this.chargeOnPaymentRequested = new ChargeOnPaymentRequested(paymentsUow, clock, ids);

    this.broker.declareQueue(Routes.orderPayments);
    this.broker.declareQueue(Routes.paymentStatus);
  }

  /** Starts both relays and both consumers. */
  async start(): Promise<void> {
    for (const [db, store] of [
      [this.ordersDb, this.ordersOutbox],
      [this.paymentsDb, this.paymentsOutbox],
    ] as const) {
      const loop = new RelayLoop(new RelayOutbox(store, this.publisher), {
        pollMs: 50,
        minBackoffMs: 5,
        maxBackoffMs: 100,
      });
      this.unlisten.push(db.onOutboxCommit(() => loop.wake()));
      loop.start();
      this.loops.push(loop);
    }
    this.subscriptions = [
      await this.subscriber.subscribe(
        Routes.orderPayments,
        async (m) => {
          await this.chargeOnPaymentRequested.execute(m);
        },
        {
          batch: async (messages) => {
            await this.chargeOnPaymentRequested.executeAll(messages);
          },
        },
      ),
      await this.subscriber.subscribe(
        Routes.paymentStatus,
        async (m) => {
          await this.applyPaymentOutcome.execute(m);
        },
        {
          batch: async (messages) => {
            await this.applyPaymentOutcome.executeAll(messages);
          },
        },
      ),
    ];
  }

  /** Waits until every outbox is published and every queue but the DLQs is drained. */
  async settle(timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let quietChecks = 0;
    while (quietChecks < 3) {
      if (Date.now() > deadline) throw new Error(`system did not settle within ${timeoutMs} ms`);
      const pending = (await this.ordersOutbox.pending()) + (await this.paymentsOutbox.pending());
      quietChecks = pending === 0 && this.broker.isIdle() ? quietChecks + 1 : 0;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.subscriptions.map((s) => s.close()));
    await Promise.all(this.loops.map((loop) => loop.stop()));
    for (const off of this.unlisten) off();
    this.subscriptions = [];
    this.loops.length = 0;
  }
}
