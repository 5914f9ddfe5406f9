import { Container } from 'inversify';
import { CommitDispatcher, defaultCommitDispatcherOptions, RelayLoop, type Subscription } from '@gozon/messaging';
import { defaultRetention, migrate, PgOutboxStore, PgRetention, type RetentionWindows } from '@gozon/adapters/postgres';
import type { Logger } from 'pino';
import type { Identity } from '../auth/identity.js';
import { clockModule, messagingModule, sqlModule, useCaseModule, type ServiceName } from '../container/modules.js';
import { Tokens } from '../container/tokens.js';
import { createOrdersApp } from '../orders/orders-app.js';
import { createPaymentsApp } from '../payments/payments-app.js';
import { serviceTelemetry } from '../observability/service-telemetry.js';
import { HttpServer } from './http-server.js';
import type { Infrastructure } from './infrastructure.js';

/**
 * Relay steps a service runs at once (each claims its own lease of rows). Draining a backlog,
 * four keep the broker busy while batches are claimed and marked: about 10 % more than two.
 */
export const RELAY_CONCURRENCY = 4;

/** A running piece of GoZon that can be stopped gracefully. */
export interface Part {
  readonly name: string;
  readonly port: number;
  stop(): Promise<void>;
}

/**
 * The composition root of one service: migrations, an Inversify container, the HTTP app, the
 * outbox relay (woken by commits, polling as the fallback) and the message consumer.
 */
export const startService = async (
  service: ServiceName,
  infra: Infrastructure,
  port: number,
  log: Logger,
  /** Who is asking: every API request is checked by it. */
  identity: Pick<Identity, 'authenticate'>,
  retentionConfig: { windows: RetentionWindows; intervalMs: number } = {
    windows: defaultRetention,
    intervalMs: 600_000,
  },
  /** The address to listen on: 127.0.0.1 when only the gateway in the same process reaches it. */
  host = '0.0.0.0',
): Promise<Part> => {
  const applied = await migrate(infra.db, service);
  if (applied.length > 0) log.info({ service, migrations: applied }, 'migrations applied');

  const telemetry = serviceTelemetry(service, infra, log);
  const publisher = telemetry.publisher(infra.publisher);
  let wakeRelay = (): void => undefined;
  // What a transaction appends is published once it commits; the relay takes only what that misses.
  const dispatcher = infra.dispatchOnCommit
    ? new CommitDispatcher(new PgOutboxStore(infra.db), publisher, {
        ...defaultCommitDispatcherOptions,
        onError: (err) => log.warn({ err: String(err) }, 'publishing on commit failed; the outbox relay takes over'),
        onReleased: () => wakeRelay(),
      })
    : undefined;
  const container = new Container({ defaultScope: 'Singleton' });
  container.load(clockModule(), sqlModule(service, infra.db, dispatcher));
  // On RabbitMQ, redeliveries of this service's queue are counted in its own database.
  const subscriber = infra.guardedSubscriber?.(container.get(Tokens.deliveryCounter)) ?? infra.subscriber;
  container.load(messagingModule(publisher, subscriber));
  container.load(useCaseModule(service, { onOrderSettled: telemetry.onOrderSettled }));

  const ready = async (): Promise<boolean> => {
    if (!infra.brokerUp()) return false;
    await infra.db.query('SELECT 1');
    return true;
  };
  const logError = (err: unknown, ctx: { method: string; path: string }) =>
    log.error({ err, method: ctx.method, path: ctx.path }, 'request failed');
  const options = {
    ready,
    logError,
    authenticate: identity.authenticate,
    telemetry: telemetry.requests,
    metrics: telemetry.scrape,
  };
  const app =
    service === 'orders'
      ? createOrdersApp(
          {
            placeOrder: container.get(Tokens.placeOrder),
            getOrder: container.get(Tokens.getOrder),
            listOrders: container.get(Tokens.listOrders),
          },
          options,
        )
      : createPaymentsApp(
          {
            createAccount: container.get(Tokens.createAccount),
            deposit: container.get(Tokens.deposit),
            getBalance: container.get(Tokens.getBalance),
          },
          options,
        );

  const relay = new RelayLoop(container.get(Tokens.relayOutbox), {
    pollMs: 1_000,
    minBackoffMs: 50,
    maxBackoffMs: 5_000,
    // Several steps at once: one batch's claim and mark overlap others' publish and confirm.
    concurrency: RELAY_CONCURRENCY,
    onError: (err) => log.warn({ err: String(err) }, 'outbox relay step failed; backing off'),
  });
  relay.start();
  wakeRelay = () => relay.wake();
  const unlisten = await infra.listen(() => relay.wake());
  const retention = new PgRetention(infra.db, retentionConfig.windows);
  const sweeper = setInterval(() => {
    retention
      .sweep()
      .then((removed) => log.info({ service, removed }, 'retention sweep'))
      .catch((err: unknown) => log.warn({ service, err: String(err) }, 'retention sweep failed; next one will retry'));
  }, retentionConfig.intervalMs);
  sweeper.unref();

  const useCase =
    service === 'orders' ? container.get(Tokens.applyPaymentOutcome) : container.get(Tokens.chargeOnPaymentRequested);
  // Messages that wait together are handled in one transaction (one commit for all).
  const subscription: Subscription = await container.get(Tokens.subscriber).subscribe(
    telemetry.queue,
    telemetry.handler((message) => useCase.execute(message)),
    { batch: telemetry.batchHandler((messages) => useCase.executeAll(messages)) },
  );

  const server = new HttpServer(app.callback(), port, host);
  const bound = await server.start();
  log.info(`${service}: listening on ${host}:${bound}; storage ${infra.storage}; broker ${infra.broker}`);

  return {
    name: service,
    port: bound,
    stop: async () => {
      clearInterval(sweeper);
      await server.stop();
      await subscription.close();
      await dispatcher?.stop();
      await relay.stop();
      await unlisten();
      await infra.close();
      log.info(`${service}: stopped`);
    },
  };
};
