import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readConfig } from '@gozon/apps/internals';
import type { BuiltInProvider } from '@gozon/apps/internals/provider';
import { GozonClient } from './client.js';
import {
  createServiceUsers,
  createTestDatabase,
  type TestDatabase,
  createTestVhost,
  type ServiceUsers,
  type TestVhost,
} from '../support/scratch.js';
import { freePort, GozonProcess } from './processes.js';
import { TcpLink } from './tcp-link.js';

type PartName = 'orders' | 'payments' | 'web' | 'gateway';

export interface ServerSystemOptions {
  /** Connects the orders service to the broker through a link the test can cut. */
  readonly cuttableOrdersBroker?: boolean;
  /**
   * Connects each instance of orders and payments to the broker through links of its own, one per
   * node the broker's URL lists, that the test can cut (`links.instanceBrokers`, by instance name):
   * one instance cut off, the others not, as a network partition would.
   */
  readonly cuttableInstanceBrokers?: boolean;
  /** Connects both services to the broker, each through a link of its own the test can cut. */
  readonly cuttableBroker?: boolean;
  /** Connects each service to its database through a link of its own the test can cut. */
  readonly cuttableDatabases?: boolean;
  /**
   * Each service connects as a RabbitMQ user of its own (`ORDERS_AMQP_URL`, `PAYMENTS_AMQP_URL`)
   * with only the permissions it needs, and is told the other's user (`*_AMQP_USER`).
   */
  readonly brokerUsers?: boolean;
  /** `LOG_LEVEL` of every process (default info). */
  readonly logLevel?: string;
  /**
   * A directory where each process writes its output, `<part>.log`, instead of piping it to this
   * process (whose CPU a load generator needs); `output` then reads the file.
   */
  readonly logDir?: string;
  /** Options for node itself in every process (e.g. `--cpu-prof --cpu-prof-dir=DIR`). */
  readonly nodeArgs?: readonly string[];
  /** Variables for every process on top of the system's own (e.g. `GOZON_AUTH`). */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * Instances of orders, payments and the gateway (default 1; web runs once), each on a port of its
   * own, on the same databases and vhost. Gateway i forwards to orders i and payments i; every
   * gateway has the first one's public address and the same data directory, so they are one issuer
   * with one set of keys, as gateways behind a load balancer are.
   */
  readonly instances?: number;
  /**
   * The broker to run on, made and deleted by the caller (e.g. a scratch cluster, `url` listing its
   * nodes); by default a fresh vhost of the local broker.
   */
  readonly broker?: TestVhost;
}

/** The parts that run as several instances. */
export type ScaledPart = 'orders' | 'payments' | 'gateway';
export const SCALED_PARTS: readonly ScaledPart[] = ['orders', 'payments', 'gateway'];

/** A process's name in reports: the part for the first instance, `part-2`, `part-3`… for the others. */
export const instanceName = (part: PartName, index: number): string => (index === 0 ? part : `${part}-${index + 1}`);

/** The links between the services and the servers they use, as the options asked for. */
export interface ServerLinks {
  readonly ordersBroker?: TcpLink | undefined;
  readonly paymentsBroker?: TcpLink | undefined;
  readonly ordersDatabase?: TcpLink | undefined;
  readonly paymentsDatabase?: TcpLink | undefined;
  /** Each service instance's links to the broker's nodes, by instance name (`orders-2`). */
  readonly instanceBrokers?: ReadonlyMap<string, readonly TcpLink[]> | undefined;
}

/** Every link of `links`, each once. */
export const everyLink = (links: ServerLinks): TcpLink[] => {
  const { instanceBrokers, ...single } = links;
  return [...Object.values(single), ...[...(instanceBrokers?.values() ?? [])].flat()].filter(
    (link): link is TcpLink => link !== undefined,
  );
};

/** `url` with its host and port replaced by a new link's end; the link relays to the original. */
const throughLink = async (url: string, defaultPort: number): Promise<{ link: TcpLink; url: string }> => {
  const target = new URL(url);
  const link = await TcpLink.open({ host: target.hostname, port: Number(target.port || defaultPort) });
  target.hostname = '127.0.0.1';
  target.port = String(link.port);
  return { link, url: target.toString() };
};

/** GoZon as separate processes on the real Postgres and RabbitMQ, each run in its own databases and vhost. */
export class ServerSystem {
  private constructor(
    readonly gatewayUrl: string,
    /** The first instance of each part. */
    readonly parts: Record<PartName, GozonProcess>,
    /** Every instance of the parts that run several. */
    readonly instances: Record<ScaledPart, GozonProcess[]>,
    /** Each part's own address (services answer /metrics, /healthz and /readyz there). */
    readonly urls: Record<PartName, string>,
    private readonly resources: {
      orders: TestDatabase;
      payments: TestDatabase;
      vhost: TestVhost;
      /** Whether the vhost is the system's own, deleted when it stops. */
      ownVhost: boolean;
      dataDir: string;
      users?: ServiceUsers | undefined;
    },
    /** The services' ways to Postgres and RabbitMQ that the options made cuttable. */
    readonly links: ServerLinks,
    /** The variables the gateway was started with (its identity settings among them). */
    readonly env: NodeJS.ProcessEnv,
  ) {}

  private provider: Promise<BuiltInProvider> | undefined;

  /** An access token for `user` from the gateway's built-in provider (an administrator's with `admin`). */
  async token(user: string, admin = false): Promise<string> {
    this.provider ??= import('@gozon/apps/internals/provider').then(({ BuiltInProvider, builtInProviderOptions }) =>
      BuiltInProvider.open(builtInProviderOptions(readConfig(this.env))),
    );
    return (await this.provider).mint(user, { admin });
  }

  /** A client of the gateway acting as `user`, or as an administrator (who may act for anyone) by default. */
  async client(user?: string): Promise<GozonClient> {
    return new GozonClient(this.gatewayUrl, await this.token(user ?? 'e2e-admin', user === undefined));
  }

  static async start(options: ServerSystemOptions = {}): Promise<ServerSystem> {
    // The per-instance links route AMQP_URL; a service's own user's URL would go around them.
    if (options.cuttableInstanceBrokers && options.brokerUsers)
      throw new Error('cuttableInstanceBrokers and brokerUsers cannot be combined');
    const count = options.instances ?? 1;
    const [orders, payments, vhost, dataDir] = await Promise.all([
      createTestDatabase(null),
      createTestDatabase(null),
      options.broker ?? createTestVhost(),
      // The built-in provider keeps its keys here; the test mints tokens from the same keys.
      mkdtemp(join(tmpdir(), 'gozon-system-')),
    ]);
    const ports = async () => Promise.all(Array.from({ length: count }, () => freePort()));
    const [gatewayPorts, ordersPorts, paymentsPorts, webPort] = await Promise.all([
      ports(),
      ports(),
      ports(),
      freePort(),
    ]);
    const gatewayPort = gatewayPorts[0] as number;
    const env = {
      GATEWAY_PORT: String(gatewayPort),
      // The address tests and browsers use: the built-in provider sends a browser back to it.
      GOZON_PUBLIC_URL: `http://127.0.0.1:${gatewayPort}`,
      ORDERS_PORT: String(ordersPorts[0]),
      PAYMENTS_PORT: String(paymentsPorts[0]),
      WEB_PORT: String(webPort),
      ORDERS_DATABASE_URL: orders.url,
      PAYMENTS_DATABASE_URL: payments.url,
      AMQP_URL: vhost.url,
      LOG_LEVEL: options.logLevel ?? 'info',
      GOZON_DATA_DIR: dataDir,
      ...options.env,
    };
    const local = (port: number) => `http://127.0.0.1:${port}`;
    const links: { -readonly [K in keyof ServerLinks]: ServerLinks[K] } = {};
    const ordersEnv: NodeJS.ProcessEnv = { ...env };
    const paymentsEnv: NodeJS.ProcessEnv = { ...env };
    const users = options.brokerUsers ? await createServiceUsers(vhost) : undefined;
    if (users) {
      Object.assign(ordersEnv, { ORDERS_AMQP_URL: users.orders.url, PAYMENTS_AMQP_USER: users.payments.name });
      Object.assign(paymentsEnv, { PAYMENTS_AMQP_URL: users.payments.url, ORDERS_AMQP_USER: users.orders.name });
    }
    if (options.cuttableOrdersBroker || options.cuttableBroker) {
      const routed = await throughLink(vhost.url, 5672);
      links.ordersBroker = routed.link;
      ordersEnv.AMQP_URL = routed.url;
    }
    if (options.cuttableBroker) {
      const routed = await throughLink(vhost.url, 5672);
      links.paymentsBroker = routed.link;
      paymentsEnv.AMQP_URL = routed.url;
    }
    if (options.cuttableDatabases) {
      const ordersRoute = await throughLink(orders.url, 5432);
      const paymentsRoute = await throughLink(payments.url, 5432);
      links.ordersDatabase = ordersRoute.link;
      links.paymentsDatabase = paymentsRoute.link;
      ordersEnv.ORDERS_DATABASE_URL = ordersRoute.url;
      paymentsEnv.PAYMENTS_DATABASE_URL = paymentsRoute.url;
    }
    // Each node of an instance's broker URL through a link of its own: `AMQP_URL` for that instance.
    const instanceBrokers = new Map<string, TcpLink[]>();
    const brokerUrls = new Map<string, string>();
    if (options.cuttableInstanceBrokers) {
      for (const [service, serviceEnv] of [
        ['orders', ordersEnv],
        ['payments', paymentsEnv],
      ] as const) {
        for (let i = 0; i < count; i += 1) {
          const nodes = String(serviceEnv.AMQP_URL ?? vhost.url).split(',');
          const routed = await Promise.all(nodes.map((node) => throughLink(node.trim(), 5672)));
          instanceBrokers.set(
            instanceName(service, i),
            routed.map((r) => r.link),
          );
          brokerUrls.set(instanceName(service, i), routed.map((r) => r.url).join(','));
        }
      }
      links.instanceBrokers = instanceBrokers;
    }
    const brokerOf = (service: 'orders' | 'payments', i: number): NodeJS.ProcessEnv => {
      const url = brokerUrls.get(instanceName(service, i));
      return url ? { AMQP_URL: url } : {};
    };
    const urls = {
      payments: local(paymentsPorts[0] as number),
      orders: local(ordersPorts[0] as number),
      web: local(webPort),
      gateway: local(gatewayPort),
    };
    const logFile = (name: string) => (options.logDir ? join(options.logDir, `${name}.log`) : undefined);
    const spawnPart = (part: PartName, index: number, partEnv: NodeJS.ProcessEnv, health: string) =>
      new GozonProcess(part, partEnv, health, undefined, [], logFile(instanceName(part, index)), options.nodeArgs);
    // Instance i: its own ports; its services know its gateway (whose keys they fetch), its gateway them.
    const ofInstance = (i: number, base: NodeJS.ProcessEnv): NodeJS.ProcessEnv => ({
      ...base,
      GATEWAY_PORT: String(gatewayPorts[i]),
      ORDERS_PORT: String(ordersPorts[i]),
      PAYMENTS_PORT: String(paymentsPorts[i]),
      ...(i === 0
        ? {}
        : { ORDERS_URL: local(ordersPorts[i] as number), PAYMENTS_URL: local(paymentsPorts[i] as number) }),
    });
    const each = (make: (i: number) => GozonProcess): GozonProcess[] =>
      Array.from({ length: count }, (_, i) => make(i));
    const instances = {
      payments: each((i) =>
        spawnPart(
          'payments',
          i,
          { ...ofInstance(i, paymentsEnv), ...brokerOf('payments', i) },
          `${local(paymentsPorts[i] as number)}/readyz`,
        ),
      ),
      orders: each((i) =>
        spawnPart(
          'orders',
          i,
          { ...ofInstance(i, ordersEnv), ...brokerOf('orders', i) },
          `${local(ordersPorts[i] as number)}/readyz`,
        ),
      ),
      gateway: each((i) => spawnPart('gateway', i, ofInstance(i, env), `${local(gatewayPorts[i] as number)}/healthz`)),
    };
    const parts = {
      payments: instances.payments[0] as GozonProcess,
      orders: instances.orders[0] as GozonProcess,
      web: spawnPart('web', 0, env, `${urls.web}/healthz`),
      gateway: instances.gateway[0] as GozonProcess,
    };
    const system = new ServerSystem(
      urls.gateway,
      parts,
      instances,
      urls,
      { orders, payments, vhost, ownVhost: options.broker === undefined, dataDir, users },
      links,
      env,
    );
    try {
      await Promise.all(system.processes().map(([, p]) => p.start()));
    } catch (err) {
      await system.stop();
      throw err;
    }
    return system;
  }

  /** Every process with its name (`orders`, `orders-2`, …, `web`), first instances first. */
  processes(): [string, GozonProcess][] {
    const all: [string, GozonProcess][] = [];
    for (const part of SCALED_PARTS) this.instances[part].forEach((p, i) => all.push([instanceName(part, i), p]));
    all.push(['web', this.parts.web]);
    return all;
  }

  /** Every gateway's address, in instance order. */
  get gatewayUrls(): string[] {
    return this.instances.gateway.map((part) => new URL(part.healthUrl ?? '').origin);
  }

  /** Every instance of a service, with its name and address (where /metrics and /readyz answer). */
  serviceInstances(service: 'orders' | 'payments'): { name: string; url: string; process: GozonProcess }[] {
    return this.instances[service].map((process, i) => ({
      name: instanceName(service, i),
      url: new URL(process.healthUrl ?? '').origin,
      process,
    }));
  }

  async stop(): Promise<void> {
    await Promise.all(this.processes().map(([, p]) => p.kill('SIGTERM').catch(() => undefined)));
    await Promise.all(everyLink(this.links).map((link) => link.cut()));
    await this.resources.orders.drop();
    await this.resources.payments.drop();
    if (this.resources.ownVhost) await this.resources.vhost.delete();
    await rm(this.resources.dataDir, { recursive: true, force: true });
    await this.resources.users?.delete();
  }

  /** The services' own RabbitMQ users, when started with `brokerUsers`. */
  get brokerUsers(): ServiceUsers | undefined {
    return this.resources.users;
  }

  /** The orders service's way to the broker, when started with `cuttableOrdersBroker` (or `cuttableBroker`). */
  get ordersBrokerLink(): TcpLink | undefined {
    return this.links.ordersBroker;
  }

  /** The services' own addresses (not through the gateway): health, metrics, direct calls. */
  get serviceUrls(): { orders: string; payments: string } {
    const base = (part: GozonProcess) => new URL(part.healthUrl ?? '').origin;
    return { orders: base(this.parts.orders), payments: base(this.parts.payments) };
  }

  /** The RabbitMQ vhost the processes use. */
  get vhost(): TestVhost {
    return this.resources.vhost;
  }

  /** The databases, reached directly (never through a link), for checks from outside (the ledger). */
  get databases(): { orders: TestDatabase; payments: TestDatabase } {
    return { orders: this.resources.orders, payments: this.resources.payments };
  }
}
