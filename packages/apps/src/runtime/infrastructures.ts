import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import type { Logger } from 'pino';
import { Routes } from '@gozon/core';
import { defaultRetryPolicy, HeldRelay, LeasedRelay } from '@gozon/messaging';
import { PublishOnCommit, RelayAlone } from '@gozon/adapters/composition';
import { DirectBus } from '@gozon/adapters/in-memory';
import {
  DEFAULT_OUTBOX_CHANNEL,
  migrate,
  PgDatabase,
  PgOutboxListener,
  pgOutboxHold,
  type Service,
} from '@gozon/adapters/postgres';
import { PgliteDatabase } from '@gozon/adapters/pglite';
import {
  RabbitConnection,
  RabbitPublisher,
  RabbitQueueTools,
  RabbitSubscriber,
  QueueMismatch,
  redactUrl,
  userOf,
} from '@gozon/adapters/rabbitmq';
import type { SqlDatabase } from '@gozon/adapters/postgres';
import { ConfigError, type Config } from '../config.js';
import { isUnavailable } from '../http/error-middleware.js';
import { sparingly } from '../logger.js';
import type { FailureObserver, Infrastructure } from './infrastructure.js';

/** The broker a process shares between its parts: RabbitMQ, or the embedded direct bus. */
export interface Broker {
  readonly label: string;
  readonly publisher: Infrastructure['publisher'];
  readonly subscriber: Infrastructure['subscriber'];
  readonly guardedSubscriber?: Infrastructure['guardedSubscriber'];
  /** How services on this broker get their messages out of the outbox. */
  readonly dispatch: Infrastructure['dispatch'];
  up(): boolean;
  /** Routes failures of `queue` to `observer` (each service observes the queue it consumes). */
  observeFailures(queue: string, observer: FailureObserver): void;
  readonly queueDepth?: ((queue: string) => Promise<number>) | undefined;
  close(): Promise<void>;
}

/** Failure reports of a process's broker, handed to whichever part consumes the queue. */
const failureRouter = () => {
  const observers = new Map<string, FailureObserver>();
  return {
    observe: (queue: string, observer: FailureObserver) => void observers.set(queue, observer),
    report: (queue: string, action: 'retry' | 'dead-letter', err: unknown) => observers.get(queue)?.(action, err),
  };
};

/**
 * The embedded default: one in-process bus shared by every part of the process. Each service that
 * consumes from it keeps its dead letters in its own database (`dead_letters`, read by `gozon
 * dlq`) and counts handovers there for the poison guard: a message whose handling kills the
 * process stays in the outbox and comes back after each restart, until the guard dead-letters it.
 */
const openDirectBus = (config: Config, log: Logger): Broker => {
  const failures = failureRouter();
  const bus = new DirectBus(
    (letter, cause) => {
      failures.report(letter.queue, 'dead-letter', cause);
      log.error(
        { queue: letter.queue, messageId: letter.message.properties.messageId, reason: letter.reason },
        'message dead-lettered (kept in dead_letters; see gozon dlq)',
      );
    },
    (queue, err) => failures.report(queue, 'retry', err),
    // As on RabbitMQ: bounded retries, except while a database is down.
    { ...defaultRetryPolicy, isTransient: isUnavailable },
    (queue, err) =>
      log.warn({ queue, err: String(err) }, 'poison guard could not count; handling the message as usual'),
  );
  return {
    label: 'embedded (in-process direct bus)',
    // The direct bus hands a message to its consumer within publish: the relay's pace suits it.
    dispatch: ({ step, loop }) => new RelayAlone(step, loop),
    publisher: bus,
    subscriber: bus,
    guardedSubscriber: ({ counter, deadLetters }) =>
      bus.guarded({ deadLetters, poison: { counter, maxRedeliveries: config.maxRedeliveries } }),
    up: () => true,
    observeFailures: failures.observe,
    close: async () => {},
  };
};

/** Who publishes on each queue: the other service's user, as far as this process knows it. */
const sendersOf = (config: Config): Record<string, string> => {
  const senders: Record<string, string> = {};
  if (config.ordersAmqpUser) senders[Routes.orderPayments] = config.ordersAmqpUser;
  if (config.paymentsAmqpUser) senders[Routes.paymentStatus] = config.paymentsAmqpUser;
  return senders;
};

/**
 * A RabbitMQ connection as the user of `url`: its messages carry that user as `userId` (checked by
 * the broker), and its consumers dead-letter messages signed by anyone but their queue's sender.
 * Without a URL, the embedded direct bus.
 */
export const openBroker = async (config: Config, log: Logger, url = config.amqpUrl): Promise<Broker> => {
  if (!url) return openDirectBus(config, log);
  const failures = failureRouter();
  const connection = new RabbitConnection({
    url,
    topology: {
      exchange: config.exchange,
      queues: [Routes.orderPayments, Routes.paymentStatus],
      queueType: config.queueType,
    },
    onEvent: (event) => log.info({ rabbitmq: event }, 'rabbitmq connection event'),
  });
  await openOrExplain(connection);
  const user = userOf(url);
  const senders = sendersOf(config);
  const publisher = new RabbitPublisher(connection, { exchange: config.exchange, userId: user });
  const queues = new RabbitQueueTools(connection);
  const subscriber = new RabbitSubscriber(connection, {
    prefetch: 64,
    // A database that is down makes every message fail: let them wait for it, not dead-letter.
    retry: { ...defaultRetryPolicy, isTransient: isUnavailable },
    onFailure: (err, action, queue) => failures.report(queue, action, err),
    senders,
  });
  const expecting = Object.entries(senders).map(([queue, sender]) => `${queue} from ${sender}`);
  return {
    label: `rabbitmq as user ${user} (${redactUrl(url)}, exchange ${config.exchange}, ${config.queueType} queues; senders checked: ${expecting.join(', ') || 'none'})`,
    // What a transaction appends is published once it commits; the relay takes only what that misses.
    dispatch: ({ store, publisher, step, loop }) =>
      new PublishOnCommit(store, publisher, step, loop, {
        // While the broker is away every commit's publish fails: a line per 10 s says so.
        onError: sparingly(10_000, (err, failures) =>
          log.warn({ err: String(err), failures }, 'publishing on commit failed; the outbox relay takes over'),
        ),
      }),
    publisher,
    subscriber,
    guardedSubscriber: ({ counter }) =>
      subscriber.withPoisonGuard({ counter, maxRedeliveries: config.maxRedeliveries }),
    up: () => connection.isOpen,
    observeFailures: failures.observe,
    queueDepth: (queue) => queues.depth(queue),
    close: async () => {
      await publisher.close();
      await connection.close();
    },
  };
};

/** Opens `connection`; queues of another type than configured are a configuration error, said in one line. */
export const openOrExplain = async (connection: RabbitConnection): Promise<void> => {
  try {
    await connection.open();
  } catch (err) {
    if (err instanceof QueueMismatch) throw new ConfigError(err.message);
    throw err;
  }
};

/** The brokers of a process's services, and how to close them all. */
export interface Brokers {
  of(service: Service): Broker;
  close(): Promise<void>;
}

/**
 * Each service on its own URL (`ORDERS_AMQP_URL`, `PAYMENTS_AMQP_URL`, each falling back to
 * `AMQP_URL`): one connection per distinct URL, shared when they are equal; with no URL at all,
 * one embedded direct bus for every part.
 */
export const openBrokers = async (config: Config, log: Logger, services: readonly Service[]): Promise<Brokers> => {
  const urlOf = (service: Service): string | undefined =>
    service === 'orders' ? config.ordersAmqpUrl : config.paymentsAmqpUrl;
  const missing = services.filter((service) => !urlOf(service));
  if (missing.length > 0 && missing.length < services.length) {
    const names = missing.map((s) => `${s.toUpperCase()}_AMQP_URL`).join(', ');
    throw new ConfigError(`on RabbitMQ every service needs its broker: ${names} or AMQP_URL (unset)`);
  }
  const opened = new Map<string, Broker>();
  const close = async (): Promise<void> => {
    for (const broker of opened.values()) await broker.close();
  };
  try {
    for (const service of services) {
      const key = urlOf(service) ?? '';
      if (!opened.has(key)) opened.set(key, await openBroker(config, log, urlOf(service)));
      const sender = service === 'orders' ? config.paymentsAmqpUser : config.ordersAmqpUser;
      if (key && !sender) log.warn(`${service}: the sender of the queue it consumes is unknown and not checked`);
    }
  } catch (err) {
    await close().catch(() => undefined);
    throw err;
  }
  return { of: (service) => opened.get(urlOf(service) ?? '') as Broker, close };
};

const databaseUrl = (config: Config, service: Service): string | undefined =>
  service === 'orders' ? config.ordersDatabaseUrl : config.paymentsDatabaseUrl;

/** Opens a service's database: its Postgres server if configured, else the embedded PGlite. */
export const openDatabase = async (
  config: Config,
  service: Service,
  log: Logger,
): Promise<{ db: SqlDatabase; label: string; listen: Infrastructure['listen']; relay: Infrastructure['relay'] }> => {
  const url = databaseUrl(config, service);
  if (url) {
    const db = PgDatabase.connect(url, {
      max: 10,
      // A server that stops answering is down, as one that refuses: 503 (or a message retried later).
      queryTimeoutMs: 5_000,
      onError: (err) => log.warn({ err: err.message }, 'idle database connection lost'),
    });
    return {
      db,
      label: `postgres (${service.toUpperCase()}_DATABASE_URL ${redactUrl(url)})`,
      // Its relay holds the outbox alone (an advisory lock) and marks each row once, with no lease.
      relay: (store, publisher, options) => new HeldRelay(store, pgOutboxHold(db), publisher, options),
      listen: async (onNotify) => {
        const listener = new PgOutboxListener(url, onNotify, {
          onError: (err) => log.warn({ err: String(err) }, 'outbox listener connection lost; relays poll meanwhile'),
        });
        await listener.start();
        return () => listener.close();
      },
    };
  }
  const dir = join(config.dataDir, service);
  await mkdir(dir, { recursive: true });
  const db = await PgliteDatabase.open(dir);
  return {
    db,
    label: `embedded postgres (PGlite, data in ${dir})`,
    // No server session of its own to hold a lock on (one process, one connection): its relay claims with leases.
    relay: (store, publisher, options) => new LeasedRelay(store, publisher, options),
    listen: (onNotify) => db.listen(DEFAULT_OUTBOX_CHANNEL, onNotify),
  };
};

export const serviceInfrastructure = async (
  config: Config,
  service: Service,
  broker: Broker,
  log: Logger,
): Promise<Infrastructure> => {
  const { db, label, listen, relay } = await openDatabase(config, service, log);
  return {
    db,
    storage: label,
    publisher: broker.publisher,
    subscriber: broker.subscriber,
    guardedSubscriber: broker.guardedSubscriber,
    broker: broker.label,
    relay,
    dispatch: broker.dispatch,
    brokerUp: () => broker.up(),
    observeFailures: broker.observeFailures,
    queueDepth: broker.queueDepth,
    listen,
    close: () => db.close(),
  };
};

/** `gozon migrate`: applies both services' migrations and reports what it did. */
export const migrateAll = async (config: Config, log: Logger): Promise<void> => {
  for (const service of ['orders', 'payments'] as const) {
    const { db, label } = await openDatabase(config, service, log);
    try {
      const applied = await migrate(db, service);
      log.info(`${service}: ${applied.length ? `applied ${applied.join(', ')}` : 'up to date'} on ${label}`);
    } finally {
      await db.close();
    }
  }
};
