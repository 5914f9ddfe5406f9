import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import type { WireMessage } from '@gozon/messaging';
import { Routes } from '@gozon/core';
import {
  DEFAULT_EXCHANGE,
  RabbitConnection,
  RabbitQueueTools,
  defaultTopology,
  fromAmqp,
  publishConfirmed,
  publishOptions,
  type RabbitEvent,
  type TopologyOptions,
} from '../rabbitmq/index.js';

const run = promisify(execFile);

/** `AMQP_URL`, or the local broker with the default account. */
export const baseAmqpUrl = (): string => process.env['AMQP_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672';

/** Runs `rabbitmqctl` with `args`; rejects (failing the test) if the broker is not there. */
export const rabbitmqctl = async (...args: string[]): Promise<string> => {
  const { stdout } = await run('rabbitmqctl', ['--quiet', ...args], { timeout: 30_000 });
  return stdout;
};

/** A vhost of its own for one test: nothing a test declares or leaves behind reaches another. */
export interface TestVhost {
  readonly name: string;
  /** The base URL pointed at this vhost. */
  readonly url: string;
  /** Closes every client connection to this vhost, as a broker restart would. */
  dropConnections(): Promise<void>;
  delete(): Promise<void>;
}

export const createTestVhost = async (): Promise<TestVhost> => {
  const name = `gozon_test_${randomBytes(6).toString('hex')}`;
  const base = new URL(baseAmqpUrl());
  await rabbitmqctl('add_vhost', name);
  await rabbitmqctl('set_permissions', '-p', name, decodeURIComponent(base.username) || 'guest', '.*', '.*', '.*');
  base.pathname = `/${encodeURIComponent(name)}`;
  return {
    name,
    url: base.toString(),
    dropConnections: async () => {
      await rabbitmqctl('close_all_connections', '-p', name, 'gozon test: dropping connections on purpose');
    },
    delete: async () => {
      await rabbitmqctl('delete_vhost', name);
    },
  };
};

/** A RabbitMQ user of a test vhost, and the vhost's URL as that user. */
export interface BrokerUser {
  readonly name: string;
  readonly password: string;
  readonly url: string;
}

/** Configure, write and read patterns (regular expressions on resource names) of one user. */
export interface BrokerPermissions {
  readonly configure: string;
  readonly write: string;
  readonly read: string;
  /** Routing keys the user may publish to `exchange` with, and bind queues to it with. */
  readonly topic?: { readonly write: string; readonly read: string } | undefined;
}

/** Adds a user with `permissions` on the vhost; `delete()` removes every user made this way. */
export const addBrokerUser = async (
  vhost: TestVhost,
  role: string,
  permissions: BrokerPermissions,
  exchange: string = DEFAULT_EXCHANGE,
): Promise<BrokerUser> => {
  const name = `gozon_test_${role}_${randomBytes(4).toString('hex')}`;
  const password = randomBytes(12).toString('hex');
  await rabbitmqctl('add_user', name, password);
  const { configure, write, read, topic } = permissions;
  await rabbitmqctl('set_permissions', '-p', vhost.name, name, configure, write, read);
  if (topic) await rabbitmqctl('set_topic_permissions', '-p', vhost.name, name, exchange, topic.write, topic.read);
  const url = new URL(vhost.url);
  url.username = encodeURIComponent(name);
  url.password = encodeURIComponent(password);
  return { name, password, url: url.toString() };
};

export const deleteBrokerUser = async (user: BrokerUser): Promise<void> => {
  await rabbitmqctl('delete_user', user.name);
};

const literal = (name: string): string => name.replace(/[.]/g, '\\.');
const anyOf = (patterns: readonly string[]): string => `^(${patterns.join('|')})$`;

/**
 * The least a GoZon service needs, found by taking each item away in turn: `declareTopology` (run
 * by both services on every connect, for both queues) and its consumer's retry queues. Declaring
 * takes configure; declaring a new queue that dead-letters to the default exchange also takes read
 * on it and write on `amq.default` (as do retry copies); binding takes write on the queue, read on
 * the exchange and the read topic permission on the key; publishing takes write on the exchange
 * and the write topic permission on the key.
 */
export const servicePermissions = (
  own: string,
  consumed: string,
  exchange: string = DEFAULT_EXCHANGE,
): BrokerPermissions => {
  const retryQueues = `${literal(consumed)}\\.retry\\.[0-9]+ms`;
  const names = (...list: string[]): string[] => list.map(literal);
  return {
    configure: anyOf([...names(exchange, own, `${own}.dlq`, consumed, `${consumed}.dlq`), retryQueues]),
    write: anyOf(names(exchange, 'amq.default', own, consumed)),
    read: anyOf([...names(exchange, own, consumed), retryQueues]),
    // Binding a queue to a topic exchange is checked against the read topic permission.
    topic: { write: anyOf(names(own)), read: anyOf(names(own, consumed)) },
  };
};

/** The two services' users of a test vhost, each with only the permissions it needs. */
export interface ServiceUsers {
  readonly orders: BrokerUser;
  readonly payments: BrokerUser;
  delete(): Promise<void>;
}

export const createServiceUsers = async (
  vhost: TestVhost,
  exchange: string = DEFAULT_EXCHANGE,
): Promise<ServiceUsers> => {
  const orders = await addBrokerUser(
    vhost,
    'orders',
    servicePermissions(Routes.orderPayments, Routes.paymentStatus, exchange),
    exchange,
  );
  const payments = await addBrokerUser(
    vhost,
    'payments',
    servicePermissions(Routes.paymentStatus, Routes.orderPayments, exchange),
    exchange,
  ).catch(async (err: unknown) => {
    await deleteBrokerUser(orders);
    throw err;
  });
  return {
    orders,
    payments,
    delete: async () => {
      await deleteBrokerUser(orders);
      await deleteBrokerUser(payments);
    },
  };
};

/** A fresh vhost with the GoZon topology declared and an open connection to it. */
export interface RabbitTestBed {
  readonly vhost: TestVhost;
  readonly connection: RabbitConnection;
  readonly queues: RabbitQueueTools;
  /** Everything the connection reported, in order. */
  readonly events: RabbitEvent[];
  /** Puts a message straight on a queue exactly as given, bypassing codec and exchange. */
  injectRaw(queue: string, message: WireMessage): Promise<void>;
  /** Takes one message off a queue with every AMQP property, as the broker holds it. */
  getRaw(
    queue: string,
  ): Promise<ReturnType<typeof fromAmqp> & { readonly deliveryMode: unknown; readonly raw: Record<string, unknown> }>;
  /** Opens another connection to the same vhost, closed along with the bed. */
  connect(backoff?: { minBackoffMs?: number; maxBackoffMs?: number }): Promise<RabbitConnection>;
  close(): Promise<void>;
}

export interface TestBedOptions {
  readonly topology?: TopologyOptions;
  /** Reconnect backoff of the bed's connections; short by default so tests recover fast. */
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
}

export const createRabbitTestBed = async (options: TestBedOptions = {}): Promise<RabbitTestBed> => {
  const { topology = defaultTopology, minBackoffMs = 50, maxBackoffMs = 500 } = options;
  const vhost = await createTestVhost();
  const events: RabbitEvent[] = [];
  const connections: RabbitConnection[] = [];
  const connect = async (backoff: { minBackoffMs?: number; maxBackoffMs?: number } = {}): Promise<RabbitConnection> => {
    const connection = new RabbitConnection({
      url: vhost.url,
      topology,
      minBackoffMs: backoff.minBackoffMs ?? minBackoffMs,
      maxBackoffMs: backoff.maxBackoffMs ?? Math.max(maxBackoffMs, backoff.minBackoffMs ?? 0),
      onEvent: (e) => events.push(e),
    });
    connections.push(connection);
    await connection.open();
    return connection;
  };
  try {
    const connection = await connect();
    return {
      vhost,
      connection,
      queues: new RabbitQueueTools(connection),
      events,
      connect,
      injectRaw: async (queue, message) => {
        const channel = await connection.current().createConfirmChannel();
        try {
          const content = Buffer.from(message.body);
          await publishConfirmed(channel, [
            { exchange: '', routingKey: queue, content, options: publishOptions(message) },
          ]);
        } finally {
          await channel.close();
        }
      },
      getRaw: async (queue) => {
        const channel = await connection.current().createChannel();
        try {
          const message = await channel.get(queue, { noAck: true });
          if (message === false) throw new Error(`queue ${queue} is empty`);
          return {
            ...fromAmqp(message),
            deliveryMode: message.properties.deliveryMode,
            raw: { ...message.properties },
          };
        } finally {
          await channel.close();
        }
      },
      close: async () => {
        await Promise.all(connections.map((c) => c.close()));
        await vhost.delete();
      },
    };
  } catch (err) {
    await Promise.all(connections.map((c) => c.close()));
    await vhost.delete().catch(() => undefined);
    throw err;
  }
};
