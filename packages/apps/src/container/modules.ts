import { ContainerModule } from 'inversify';
import { randomIds, systemClock } from '@gozon/core';
import type { MessagePublisher, MessageSubscriber } from '@gozon/messaging';
import type { OrdersService, PaymentsService } from '@gozon/adapters/composition';
import {
  ordersUnitOfWork,
  paymentsUnitOfWork,
  PgAccountQueries,
  PgDeadLetterStore,
  PgDeliveryCounter,
  PgOrderQueries,
  PgOutboxStore,
  type OutboxAppend,
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
 * adapters and migrations either way. Its outbox appends as the service's dispatch says.
 */
export const sqlModule = (service: ServiceName, db: SqlDatabase, append: OutboxAppend): ContainerModule =>
  new ContainerModule(({ bind }) => {
    bind(Tokens.database).toConstantValue(db);
    bind(Tokens.outboxStore).toConstantValue(new PgOutboxStore(db));
    // On the pool, not a transaction: each count commits before the handling it guards starts.
    bind(Tokens.deliveryCounter).toConstantValue(new PgDeliveryCounter(db));
    // Likewise: a dead letter of the embedded bus commits before the message leaves the outbox.
    bind(Tokens.deadLetterStore).toConstantValue(new PgDeadLetterStore(db));
    if (service === 'orders') {
      bind(Tokens.ordersUow).toConstantValue(ordersUnitOfWork(db, { append }));
      bind(Tokens.orderQueries).toConstantValue(new PgOrderQueries(db));
    } else {
      bind(Tokens.paymentsUow).toConstantValue(paymentsUnitOfWork(db, { append }));
      bind(Tokens.accountQueries).toConstantValue(new PgAccountQueries(db));
    }
  });

/** The broker side: RabbitMQ, or the embedded direct bus. */
export const messagingModule = (publisher: MessagePublisher, subscriber: MessageSubscriber): ContainerModule =>
  new ContainerModule(({ bind }) => {
    bind(Tokens.publisher).toConstantValue(publisher);
    bind(Tokens.subscriber).toConstantValue(subscriber);
  });

/** The use cases of the orders service, as `composeOrders` made them. */
export const ordersModule = (orders: OrdersService): ContainerModule =>
  new ContainerModule(({ bind }) => {
    bind(Tokens.placeOrder).toConstantValue(orders.placeOrder);
    bind(Tokens.getOrder).toConstantValue(orders.getOrder);
    bind(Tokens.listOrders).toConstantValue(orders.listOrders);
    bind(Tokens.applyPaymentOutcome).toConstantValue(orders.applyPaymentOutcome);
  });

/** The use cases of the payments service, as `composePayments` made them. */
export const paymentsModule = (payments: PaymentsService): ContainerModule =>
  new ContainerModule(({ bind }) => {
    bind(Tokens.createAccount).toConstantValue(payments.createAccount);
    bind(Tokens.deposit).toConstantValue(payments.deposit);
    bind(Tokens.getBalance).toConstantValue(payments.getBalance);
    bind(Tokens.chargeOnPaymentRequested).toConstantValue(payments.chargeOnPaymentRequested);
  });
