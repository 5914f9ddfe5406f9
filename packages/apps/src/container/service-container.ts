import { Container } from 'inversify';
import { defaultRelayOptions } from '@gozon/messaging';
import {
  composeOrders,
  composePayments,
  type DispatchStrategy,
  type HandlerWrapper,
  type OrdersService,
  type ReconcileOptions,
} from '@gozon/adapters/composition';
import { defaultReconcilePolicy, type ReconcilePolicy } from '@gozon/core';
import { PgOutboxStore } from '@gozon/adapters/postgres';
import type { Logger } from 'pino';
import type { ServiceTelemetry } from '../observability/service-telemetry.js';
import type { Infrastructure } from '../runtime/infrastructure.js';
import { clockModule, messagingModule, ordersModule, paymentsModule, sqlModule, type ServiceName } from './modules.js';
import { Tokens } from './tokens.js';

/**
 * Relay steps a service runs at once (each claims its own lease of rows). Draining a backlog,
 * four keep the broker busy while batches are claimed and marked: about 10 % more than two.
 */
export const RELAY_CONCURRENCY = 4;

/** How a service's relay loop runs (the bench's steady relay runs the same). */
export const RELAY_LOOP = {
  pollMs: 1_000,
  minBackoffMs: 50,
  maxBackoffMs: 5_000,
  // Several steps at once: one batch's claim and mark overlap others' publish and confirm.
  concurrency: RELAY_CONCURRENCY,
} as const;

/** A service's container, with start/stop for what runs beside its use cases (dispatch, consumer). */
export interface ServiceContainer {
  readonly container: Container;
  /** Asks the relay to look at the outbox now (a commit announced rows). */
  wake(): void;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * One service's container: its ports bound by the modules, its dispatch chosen once from what the
 * infrastructure is (the storage picks the relay, the broker the strategy), and its use cases and
 * consumer made by the one composition the in-memory system and the test harness use too.
 */
export const serviceContainer = (
  service: ServiceName,
  infra: Infrastructure,
  telemetry: ServiceTelemetry,
  log: Logger,
  /** When orders ask for their payment again (orders service). */
  reconcile: ReconcilePolicy = defaultReconcilePolicy,
): ServiceContainer => {
  const publisher = telemetry.publisher(infra.publisher);
  const store = new PgOutboxStore(infra.db);
  const dispatch = infra.dispatch({
    store,
    publisher,
    step: infra.relay(store, publisher, defaultRelayOptions),
    loop: {
      ...RELAY_LOOP,
      onError: (err) => log.warn({ err: String(err) }, 'outbox relay step failed; backing off'),
    },
  });
  const container = new Container({ defaultScope: 'Singleton' });
  container.load(clockModule(), sqlModule(service, infra.db, dispatch.append));
  // On RabbitMQ, redeliveries of this service's queue are counted in its own database.
  const subscriber = infra.guardedSubscriber?.(container.get(Tokens.deliveryCounter)) ?? infra.subscriber;
  container.load(messagingModule(publisher, subscriber));
  const parts = composeService(service, container, dispatch, telemetry, {
    policy: reconcile,
    onAskedAgain: (asked) => telemetry.onAskedAgain(asked),
    onError: (err) => log.warn({ service, err: String(err) }, 'reconcile sweep failed; the next one will retry'),
  });
  return { container, wake: () => dispatch.wake(), start: parts.start, stop: parts.stop };
};

// The composition of `service`, its use cases bound in `container` for the HTTP app.
const composeService = (
  service: ServiceName,
  container: Container,
  dispatch: DispatchStrategy,
  telemetry: ServiceTelemetry,
  reconcile: ReconcileOptions,
): Pick<OrdersService, 'start' | 'stop'> => {
  const handlers: HandlerWrapper = {
    handler: (_queue, execute) => telemetry.handler(execute),
    batch: (_queue, executeAll) => telemetry.batchHandler(executeAll),
  };
  const common = {
    subscriber: container.get(Tokens.subscriber),
    clock: container.get(Tokens.clock),
    ids: container.get(Tokens.ids),
  };
  if (service === 'orders') {
    const orders = composeOrders(
      { ...common, uow: container.get(Tokens.ordersUow), queries: container.get(Tokens.orderQueries) },
      dispatch,
      { handlers, onOrderSettled: (order) => telemetry.onOrderSettled(order), reconcile },
    );
    container.load(ordersModule(orders));
    return orders;
  }
  const payments = composePayments(
    { ...common, uow: container.get(Tokens.paymentsUow), queries: container.get(Tokens.accountQueries) },
    dispatch,
    { handlers },
  );
  container.load(paymentsModule(payments));
  return payments;
};
