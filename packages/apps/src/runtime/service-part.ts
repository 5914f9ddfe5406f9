import type { Container } from 'inversify';
import { defaultRetention, migrate, PgRetention, type RetentionWindows } from '@gozon/adapters/postgres';
import { defaultReconcilePolicy } from '@gozon/core';
import type Koa from 'koa';
import type { Logger } from 'pino';
import type { Identity } from '../auth/identity.js';
import type { ServiceName } from '../container/modules.js';
import { serviceContainer } from '../container/service-container.js';
import { Tokens } from '../container/tokens.js';
import type { ServiceAppOptions } from '../http/service-app.js';
import { createOrdersApp } from '../orders/orders-app.js';
import { createPaymentsApp } from '../payments/payments-app.js';
import { serviceTelemetry, type ServiceTelemetry } from '../observability/service-telemetry.js';
import { HttpServer } from './http-server.js';
import type { Infrastructure } from './infrastructure.js';

export { RELAY_CONCURRENCY, RELAY_LOOP } from '../container/service-container.js';

/** How a service keeps its tables small and its orders moving. */
export interface ServiceSettings {
  /** What the retention sweep deletes, and how often it runs. */
  readonly retention: { windows: RetentionWindows; intervalMs: number };
  /** How long an order may stay NEW before its payment is asked for again (orders service). */
  readonly reconcileAfterMs: number;
}

export const defaultServiceSettings: ServiceSettings = {
  retention: { windows: defaultRetention, intervalMs: 600_000 },
  reconcileAfterMs: defaultReconcilePolicy.afterMs,
};

/** A running piece of GoZon that can be stopped gracefully. */
export interface Part {
  readonly name: string;
  readonly port: number;
  stop(): Promise<void>;
}

/**
 * The composition root of one service: migrations, an Inversify container, the HTTP app, the
 * outbox's dispatch (woken by commits, polling as the fallback) and the message consumer.
 */
export const startService = async (
  service: ServiceName,
  infra: Infrastructure,
  port: number,
  log: Logger,
  /** Who is asking: every API request is checked by it. */
  identity: Pick<Identity, 'authenticate'>,
  settings: ServiceSettings = defaultServiceSettings,
  /** The address to listen on: 127.0.0.1 when only the gateway in the same process reaches it. */
  host = '0.0.0.0',
): Promise<Part> => {
  const applied = await migrate(infra.db, service);
  if (applied.length > 0) log.info({ service, migrations: applied }, 'migrations applied');

  const telemetry = serviceTelemetry(service, infra, log);
  const reconcile = { ...defaultReconcilePolicy, afterMs: settings.reconcileAfterMs };
  const parts = serviceContainer(service, infra, telemetry, log, reconcile);
  const app = serviceApp(service, parts.container, appOptions(infra, log, identity, telemetry));
  const unlisten = await infra.listen(() => parts.wake());
  await parts.start();
  const stopSweeping = sweepRetention(service, infra, log, settings.retention);

  const server = new HttpServer(app.callback(), port, host);
  const bound = await server.start();
  log.info(`${service}: listening on ${host}:${bound}; storage ${infra.storage}; broker ${infra.broker}`);

  return {
    name: service,
    port: bound,
    stop: async () => {
      stopSweeping();
      await server.stop();
      await parts.stop();
      await unlisten();
      await infra.close();
      log.info(`${service}: stopped`);
    },
  };
};

const appOptions = (
  infra: Infrastructure,
  log: Logger,
  identity: Pick<Identity, 'authenticate'>,
  telemetry: ServiceTelemetry,
): ServiceAppOptions => ({
  ready: async (): Promise<boolean> => {
    if (!infra.brokerUp()) return false;
    await infra.db.query('SELECT 1');
    return true;
  },
  logError: (err: unknown, ctx: { method: string; path: string }) =>
    log.error({ err, method: ctx.method, path: ctx.path }, 'request failed'),
  authenticate: identity.authenticate,
  telemetry: telemetry.requests,
  metrics: telemetry.scrape,
});

// The HTTP app of `service` over the use cases its container holds.
const serviceApp = (service: ServiceName, container: Container, options: ServiceAppOptions): Koa =>
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

// Deletes published outbox rows, old inbox and idempotency rows, and stale redelivery counts, now and then.
const sweepRetention = (
  service: ServiceName,
  infra: Infrastructure,
  log: Logger,
  config: { windows: RetentionWindows; intervalMs: number },
): (() => void) => {
  const retention = new PgRetention(infra.db, config.windows);
  const sweeper = setInterval(() => {
    retention
      .sweep()
      .then((removed) => log.info({ service, removed }, 'retention sweep'))
      .catch((err: unknown) => log.warn({ service, err: String(err) }, 'retention sweep failed; next one will retry'));
  }, config.intervalMs);
  sweeper.unref();
  return () => clearInterval(sweeper);
};
