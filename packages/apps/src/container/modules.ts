import { ContainerModule } from 'inversify';
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
  systemClock,
  type OrderSettled,
} from '@gozon/core';
import {
  defaultRelayOptions,
  RelayOutbox,
  type CommitDispatcher,
  type MessagePublisher,
  type MessageSubscriber,
} from '@gozon/messaging';
import {
  ordersUnitOfWork,
  paymentsUnitOfWork,
  PgAccountQueries,
  PgDeliveryCounter,
  PgOrderQueries,
  PgOutboxStore,
  type SqlDatabase,
} from '@gozon/adapters/postgres';
import { Tokens } from './tokens.js';

export type ServiceName = 'orders' | 'payments';

/** Time and ids from the real world. */
export const clockModule = (): ContainerModule =>
  new ContainerModule(({ bind }) => {
    bind(Tokens.clock).toConstantValue(systemClock);
    bind(Tokens.ids).toConstantValue(randomIds);
  });

/**
 * A service's storage on the SQL seam: a Postgres server (pg) or the embedded PGlite, the same
 * adapters and migrations either way.
 */
export const sqlModule = (service: ServiceName, db: SqlDatabase, dispatcher?: CommitDispatcher): ContainerModule =>
  new ContainerModule(({ bind }) => {
    bind(Tokens.database).toConstantValue(db);
    // Its relay holds the outbox alone (an advisory lock) and marks each row once, with no lease.
    bind(Tokens.outboxStore).toConstantValue(new PgOutboxStore(db, { lead: true }));
    // On the pool, not a transaction: each count commits before the handling it guards starts.
    bind(Tokens.deliveryCounter).toConstantValue(new PgDeliveryCounter(db));
    if (service === 'orders') {
      bind(Tokens.ordersUow).toConstantValue(ordersUnitOfWork(db, { dispatcher }));
      bind(Tokens.orderQueries).toConstantValue(new PgOrderQueries(db));
    } else {
      bind(Tokens.paymentsUow).toConstantValue(paymentsUnitOfWork(db, { dispatcher }));
      bind(Tokens.accountQueries).toConstantValue(new PgAccountQueries(db));
    }
  });

/** The broker side: RabbitMQ, or the embedded direct bus. */
export const messagingModule = (publisher: MessagePublisher, subscriber: MessageSubscriber): ContainerModule =>
  new ContainerModule(({ bind }) => {
    bind(Tokens.publisher).toConstantValue(publisher);
    bind(Tokens.subscriber).toConstantValue(subscriber);
    bind(Tokens.relayOutbox)
      .toDynamicValue((c) => new RelayOutbox(c.get(Tokens.outboxStore), c.get(Tokens.publisher), defaultRelayOptions))
      .inSingletonScope();
  });

/** What the apps want to hear from use cases (metrics), as plain functions. */
export interface UseCaseObservers {
  readonly onOrderSettled?: (order: OrderSettled) => void;
}

/** The use cases of one service, each built by a factory from the ports bound above. */
export const useCaseModule = (service: ServiceName, observers: UseCaseObservers = {}): ContainerModule =>
  new ContainerModule(({ bind }) => {
    if (service === 'orders') {
      bind(Tokens.placeOrder)
        .toDynamicValue((c) => new PlaceOrder(c.get(Tokens.ordersUow), c.get(Tokens.clock), c.get(Tokens.ids)))
        .inSingletonScope();
      bind(Tokens.getOrder)
        .toDynamicValue((c) => new GetOrder(c.get(Tokens.orderQueries)))
        .inSingletonScope();
      bind(Tokens.listOrders)
        .toDynamicValue((c) => new ListOrders(c.get(Tokens.orderQueries)))
        .inSingletonScope();
      bind(Tokens.applyPaymentOutcome)
        .toDynamicValue(
          (c) => new ApplyPaymentOutcome(c.get(Tokens.ordersUow), c.get(Tokens.clock), observers.onOrderSettled),
        )
        .inSingletonScope();
    } else {
      bind(Tokens.createAccount)
        .toDynamicValue((c) => new CreateAccount(c.get(Tokens.paymentsUow)))
        .inSingletonScope();
      bind(Tokens.deposit)
        .toDynamicValue((c) => new Deposit(c.get(Tokens.paymentsUow)))
        .inSingletonScope();
      bind(Tokens.getBalance)
        .toDynamicValue((c) => new GetBalance(c.get(Tokens.accountQueries)))
        .inSingletonScope();
      bind(Tokens.chargeOnPaymentRequested)
        .toDynamicValue(
          (c) => new ChargeOnPaymentRequested(c.get(Tokens.paymentsUow), c.get(Tokens.clock), c.get(Tokens.ids)),
        )
        .inSingletonScope();
    }
  });
