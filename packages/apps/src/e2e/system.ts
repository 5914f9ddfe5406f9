import { createTestDatabase, type TestDatabase } from '@gozon/adapters/testing/postgres';
import { createTestVhost, type TestVhost } from '@gozon/adapters/testing/rabbitmq';
import { freePort, GozonProcess } from './processes.js';
import { TcpLink } from './tcp-link.js';

type PartName = 'orders' | 'payments' | 'web' | 'gateway';

export interface ServerSystemOptions {
  /** Connects the orders service to the broker through a link the test can cut. */
  readonly cuttableOrdersBroker?: boolean;
  /** `LOG_LEVEL` of every process (default info). */
  readonly logLevel?: string;
}

/** GoZon as separate processes on the real Postgres and RabbitMQ, each run in its own databases and vhost. */
export class ServerSystem {
  private constructor(
    readonly gatewayUrl: string,
    readonly parts: Record<PartName, GozonProcess>,
    /** Each part's own address (services answer /metrics, /healthz and /readyz there). */
    readonly urls: Record<PartName, string>,
    private readonly resources: { orders: TestDatabase; payments: TestDatabase; vhost: TestVhost },
    /** The orders service's way to the broker, when started with `cuttableOrdersBroker`. */
    readonly ordersBrokerLink: TcpLink | undefined,
  ) {}

  static async start(options: ServerSystemOptions = {}): Promise<ServerSystem> {
    const [orders, payments, vhost] = await Promise.all([
      createTestDatabase(null),
      createTestDatabase(null),
      createTestVhost(),
    ]);
    const [gatewayPort, ordersPort, paymentsPort, webPort] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
      freePort(),
    ]);
    const env = {
      GATEWAY_PORT: String(gatewayPort),
      ORDERS_PORT: String(ordersPort),
      PAYMENTS_PORT: String(paymentsPort),
      WEB_PORT: String(webPort),
      ORDERS_DATABASE_URL: orders.url,
      PAYMENTS_DATABASE_URL: payments.url,
      AMQP_URL: vhost.url,
      LOG_LEVEL: options.logLevel ?? 'info',
    };
    const local = (port: number) => `http://127.0.0.1:${port}`;
    let link: TcpLink | undefined;
    const ordersEnv = { ...env };
    if (options.cuttableOrdersBroker) {
      const broker = new URL(vhost.url);
      link = await TcpLink.open({ host: broker.hostname, port: Number(broker.port || 5672) });
      broker.hostname = '127.0.0.1';
      broker.port = String(link.port);
      ordersEnv.AMQP_URL = broker.toString();
    }
    const urls = {
      payments: local(paymentsPort),
      orders: local(ordersPort),
      web: local(webPort),
      gateway: local(gatewayPort),
    };
    const parts = {
      payments: new GozonProcess('payments', env, `${urls.payments}/readyz`),
      orders: new GozonProcess('orders', ordersEnv, `${urls.orders}/readyz`),
      web: new GozonProcess('web', env, `${urls.web}/healthz`),
      gateway: new GozonProcess('gateway', env, `${urls.gateway}/healthz`),
    };
    const system = new ServerSystem(urls.gateway, parts, urls, { orders, payments, vhost }, link);
    try {
      await Promise.all(Object.values(parts).map((p) => p.start()));
    } catch (err) {
      await system.stop();
      throw err;
    }
    return system;
  }

  async stop(): Promise<void> {
    await Promise.all(Object.values(this.parts).map((p) => p.kill('SIGTERM').catch(() => undefined)));
    await this.ordersBrokerLink?.cut();
    await this.resources.orders.drop();
    await this.resources.payments.drop();
    await this.resources.vhost.delete();
  }

  /** The databases, for checks from outside (the ledger). */
  /** The services' own addresses (not through the gateway): health, metrics, direct calls. */
  get serviceUrls(): { orders: string; payments: string } {
    const base = (part: GozonProcess) => new URL(part.healthUrl ?? '').origin;
    return { orders: base(this.parts.orders), payments: base(this.parts.payments) };
  }

  /** The RabbitMQ vhost the processes use. */
  get vhost(): TestVhost {
    return this.resources.vhost;
  }

  get databases(): { orders: TestDatabase; payments: TestDatabase } {
    return { orders: this.resources.orders, payments: this.resources.payments };
  }
}
