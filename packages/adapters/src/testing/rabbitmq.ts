// The adapter's specs' broker: a testkit vhost with the GoZon topology declared on it.
import { Routes } from '@gozon/core';
import type { WireMessage } from '@gozon/messaging';
import * as testkit from '@gozon/testkit';
import { createTestVhost, type ServiceUsers, type TestVhost, type VhostHost } from '@gozon/testkit';
import {
  RabbitConnection,
  RabbitQueueTools,
  defaultTopology,
  fromAmqp,
  publishConfirmed,
  publishOptions,
  type RabbitEvent,
  type TopologyOptions,
} from '../rabbitmq/index.js';

export {
  addBrokerUser,
  createTestVhost,
  deleteBrokerUser,
  rabbitmqctl,
  servicePermissions,
  type BrokerPermissions,
  type BrokerUser,
  type ServiceUsers,
  type TestVhost,
} from '@gozon/testkit';

/** The two services' users of a test vhost, each with only the permissions it needs. */
export const createServiceUsers = (vhost: TestVhost, exchange?: string): Promise<ServiceUsers> =>
  testkit.createServiceUsers(vhost, { orders: Routes.orderPayments, payments: Routes.paymentStatus }, exchange);

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
  /** Where the vhost is made: a cluster this run started; unset, the run's broker. */
  readonly host?: VhostHost;
}

export const createRabbitTestBed = async (options: TestBedOptions = {}): Promise<RabbitTestBed> => {
  const { topology = defaultTopology, minBackoffMs = 50, maxBackoffMs = 500 } = options;
  const vhost = await createTestVhost(options.host);
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
