import {
  Routes,
  systemClock,
  randomIds,
  type ApplyPaymentOutcome,
  type ChargeOnPaymentRequested,
  type Clock,
  type CreateAccount,
  type Deposit,
  type GetBalance,
  type GetOrder,
  type IdGenerator,
  type ListOrders,
  type PlaceOrder,
} from '@gozon/core';
import { LeasedRelay, type RetryPolicy } from '@gozon/messaging';
import {
  composeOrders,
  composePayments,
  RelayAlone,
  type OrdersService,
  type PaymentsService,
} from '../composition/index.js';
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

// Quick to notice a lost wake-up or a failed step: tests wait on it.
const relayLoop = { pollMs: 50, minBackoffMs: 5, maxBackoffMs: 100 };

/**
 * The whole GoZon flow in one process on in-memory adapters: two databases (orders, payments),
 * one broker, both services composed as they run for real (`composeOrders`, `composePayments`),
 * each with its relay alone, leased. A harness for tests, here and in projects that embed the core.
 */
export class InMemorySystem {
  readonly broker = new InMemoryBroker();
  readonly ordersDb = new InMemoryDatabase();
  readonly paymentsDb = new InMemoryDatabase();
  readonly publisher = new InMemoryPublisher(this.broker);
  readonly ordersOutbox = new InMemoryOutboxStore(this.ordersDb);
  readonly paymentsOutbox = new InMemoryOutboxStore(this.paymentsDb);

  readonly placeOrder: PlaceOrder;
  readonly getOrder: GetOrder;
  readonly listOrders: ListOrders;
  readonly applyPaymentOutcome: ApplyPaymentOutcome;
  readonly createAccount: CreateAccount;
  readonly deposit: Deposit;
  readonly getBalance: GetBalance;
  readonly chargeOnPaymentRequested: ChargeOnPaymentRequested;

  private readonly orders: OrdersService;
  private readonly payments: PaymentsService;

  constructor(options: InMemorySystemOptions = {}) {
    const clock = options.clock ?? systemClock;
    const ids = options.ids ?? randomIds;
    const subscriber = new InMemorySubscriber(this.broker, {
      ...(options.retry ? { retry: options.retry } : {}),
      ...(options.prefetch ? { prefetch: options.prefetch } : {}),
    });
    const ordersDispatch = new RelayAlone(new LeasedRelay(this.ordersOutbox, this.publisher), relayLoop);
    const paymentsDispatch = new RelayAlone(new LeasedRelay(this.paymentsOutbox, this.publisher), relayLoop);
    // A commit that appended wakes its relay; a stopped relay takes no notice.
    this.ordersDb.onOutboxCommit(() => ordersDispatch.wake());
    this.paymentsDb.onOutboxCommit(() => paymentsDispatch.wake());
    const ordersUow = new InMemoryUnitOfWork(this.ordersDb);
    const paymentsUow = new InMemoryUnitOfWork(this.paymentsDb);
    this.orders = composeOrders(
      { uow: ordersUow, queries: new InMemoryOrderQueries(this.ordersDb), subscriber, clock, ids },
      ordersDispatch,
    );
    this.payments = composePayments(
      { uow: paymentsUow, queries: new InMemoryAccountQueries(this.paymentsDb), subscriber, clock, ids },
      paymentsDispatch,
    );
    ({
      placeOrder: this.placeOrder,
      getOrder: this.getOrder,
      listOrders: this.listOrders,
      applyPaymentOutcome: this.applyPaymentOutcome,
    } = this.orders);
    ({
      createAccount: this.createAccount,
      deposit: this.deposit,
      getBalance: this.getBalance,
      chargeOnPaymentRequested: this.chargeOnPaymentRequested,
    } = this.payments);

    this.broker.declareQueue(Routes.orderPayments);
    this.broker.declareQueue(Routes.paymentStatus);
  }

  /** Starts both relays and both consumers. */
  async start(): Promise<void> {
    await this.orders.start();
    await this.payments.start();
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
    await Promise.all([this.orders.stop(), this.payments.stop()]);
  }
}
