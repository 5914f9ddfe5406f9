import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { promisify } from 'node:util';
import { onCleanup } from './cleanup.js';
import { rabbitmqContainer, type ContainerExec } from './containers.js';
import { scratchName } from './names.js';

const run = promisify(execFile);
const LOCAL = 'amqp://guest:guest@127.0.0.1:5672';

/** The contract's exchange (`AMQP_EXCHANGE` unset); named here, as the testkit imports no GoZon package. */
export const GOZON_EXCHANGE = 'gozon';

/** Whether something accepts a TCP connection at the host and port of AMQP URL `url` within 2 s. */
export const amqpAnswers = (url: string): Promise<boolean> =>
  new Promise((resolve) => {
    const { hostname, port } = new URL(url);
    const socket = connect({ host: hostname, port: Number(port || 5672), timeout: 2_000 });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });

/** Runs `rabbitmqctl` on this machine. */
const localCtl: ContainerExec = async (command) => {
  const { stdout } = await run(command[0] as string, command.slice(1), { timeout: 30_000 });
  return stdout;
};

let broker: Promise<{ url: string; exec: ContainerExec }> | undefined;

/**
 * The broker to make vhosts on, decided once per run: `AMQP_URL`, or the local broker if it
 * answers, and only otherwise a container (where `rabbitmqctl` runs through the container's exec).
 * Deciding once keeps a run on one broker even while a fault stops it.
 */
const theBroker = (): Promise<{ url: string; exec: ContainerExec }> => {
  const configured = process.env['AMQP_URL'];
  broker ??= configured
    ? Promise.resolve({ url: configured, exec: localCtl })
    : amqpAnswers(LOCAL).then((up) => (up ? { url: LOCAL, exec: localCtl } : rabbitmqContainer()));
  return broker;
};

/** The base URL of the broker tests run on (`AMQP_URL`, the local broker, or a container). */
export const baseAmqpUrl = async (): Promise<string> => (await theBroker()).url;

/** Runs `rabbitmqctl` with `args`; rejects (failing the test) if the broker is not there. */
export const rabbitmqctl = async (...args: string[]): Promise<string> =>
  (await theBroker()).exec(['rabbitmqctl', '--quiet', ...args]);

/** A vhost of its own for one test: nothing a test declares or leaves behind reaches another. */
export interface TestVhost {
  readonly name: string;
  /** The base URL pointed at this vhost. */
  readonly url: string;
  /** Closes every client connection to this vhost, as a broker restart would. */
  dropConnections(): Promise<void>;
  delete(): Promise<void>;
}

/** A broker to make vhosts on other than the run's: e.g. a cluster the run started. */
export interface VhostHost {
  /** Its base URL; a comma-separated list of nodes gets the vhost on each. */
  readonly url: string;
  /** `rabbitmqctl` against it. */
  ctl(...args: string[]): Promise<string>;
}

/** `url`, or each node of a comma-separated list, pointed at vhost `name`. */
const onVhost = (url: string, name: string): string =>
  url
    .split(',')
    .map((node) => {
      const u = new URL(node.trim());
      u.pathname = `/${encodeURIComponent(name)}`;
      return u.toString();
    })
    .join(',');

/** Adds a vhost with a fresh name (on `host`, else the run's broker); until deleted it stays registered for cleanup. */
export const createTestVhost = async (host?: VhostHost): Promise<TestVhost> => {
  const name = scratchName();
  const ctl = host ? host.ctl : rabbitmqctl;
  const baseUrl = host ? host.url : await baseAmqpUrl();
  const base = new URL(baseUrl.split(',')[0]?.trim() ?? baseUrl);
  // Registered before it is asked for: a run interrupted meanwhile deletes it once it exists.
  const added = ctl('add_vhost', name);
  let deleting: Promise<void> | undefined;
  // One deletion, whoever asks first; it stays registered until done, so that a run that is
  // ending waits for it rather than exiting with `rabbitmqctl` still running.
  const remove = (): Promise<void> => {
    deleting ??= (async () => {
      await added.catch(() => undefined);
      await ctl('delete_vhost', name);
    })().finally(() => unregister());
    return deleting;
  };
  const unregister = onCleanup(`vhost ${name}`, remove);
  try {
    await added;
    await ctl('set_permissions', '-p', name, decodeURIComponent(base.username) || 'guest', '.*', '.*', '.*');
  } catch (err) {
    await remove().catch(() => undefined);
    throw err;
  }
  return {
    name,
    url: onVhost(baseUrl, name),
    dropConnections: async () => {
      await ctl('close_all_connections', '-p', name, 'gozon test: dropping connections on purpose');
    },
    delete: remove,
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

/** Users made and not yet deleted, each with the function that deletes it (once). */
const users = new Map<string, () => Promise<void>>();

/** Adds a user with `permissions` on the vhost; `delete()` removes every user made this way. */
export const addBrokerUser = async (
  vhost: TestVhost,
  role: string,
  permissions: BrokerPermissions,
  exchange: string = GOZON_EXCHANGE,
): Promise<BrokerUser> => {
  const name = scratchName(role);
  const password = randomBytes(12).toString('hex');
  const added = rabbitmqctl('add_user', name, password);
  let deleting: Promise<void> | undefined;
  const remove = (): Promise<void> => {
    deleting ??= (async () => {
      await added.catch(() => undefined);
      await rabbitmqctl('delete_user', name);
    })().finally(() => {
      unregister();
      users.delete(name);
    });
    return deleting;
  };
  const unregister = onCleanup(`broker user ${name}`, remove);
  users.set(name, remove);
  try {
    await added;
  } catch (err) {
    unregister();
    users.delete(name);
    throw err;
  }
  const { configure, write, read, topic } = permissions;
  await rabbitmqctl('set_permissions', '-p', vhost.name, name, configure, write, read);
  if (topic) await rabbitmqctl('set_topic_permissions', '-p', vhost.name, name, exchange, topic.write, topic.read);
  const url = new URL(vhost.url);
  url.username = encodeURIComponent(name);
  url.password = encodeURIComponent(password);
  return { name, password, url: url.toString() };
};

export const deleteBrokerUser = async (user: BrokerUser): Promise<void> => {
  const remove = users.get(user.name);
  await (remove ? remove() : rabbitmqctl('delete_user', user.name));
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
  exchange: string = GOZON_EXCHANGE,
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

/** The routing key each service publishes with (`Routes` in the core). */
export interface ServiceRoutes {
  readonly orders: string;
  readonly payments: string;
}

export const createServiceUsers = async (
  vhost: TestVhost,
  routes: ServiceRoutes,
  exchange: string = GOZON_EXCHANGE,
): Promise<ServiceUsers> => {
  const orders = await addBrokerUser(
    vhost,
    'orders',
    servicePermissions(routes.orders, routes.payments, exchange),
    exchange,
  );
  const payments = await addBrokerUser(
    vhost,
    'payments',
    servicePermissions(routes.payments, routes.orders, exchange),
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
