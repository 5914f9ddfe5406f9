import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { RabbitConnection, RabbitQueueTools, defaultTopology, type RabbitEvent, type TopologyOptions } from '../rabbitmq/index.js';

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

/** A fresh vhost with the GoZon topology declared and an open connection to it. */
export interface RabbitTestBed {
  readonly vhost: TestVhost;
  readonly connection: RabbitConnection;
  readonly queues: RabbitQueueTools;
  /** Everything the connection reported, in order. */
  readonly events: RabbitEvent[];
  /** Opens another connection to the same vhost, closed along with the bed. */
  connect(): Promise<RabbitConnection>;
  close(): Promise<void>;
}

export const createRabbitTestBed = async (topology: TopologyOptions = defaultTopology): Promise<RabbitTestBed> => {
  const vhost = await createTestVhost();
  const events: RabbitEvent[] = [];
  const connections: RabbitConnection[] = [];
  const connect = async (): Promise<RabbitConnection> => {
    const connection = new RabbitConnection({ url: vhost.url, topology, minBackoffMs: 50, maxBackoffMs: 500, onEvent: (e) => events.push(e) });
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
