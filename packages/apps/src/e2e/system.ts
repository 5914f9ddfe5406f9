import { createTestDatabase, type TestDatabase } from '@gozon/adapters/testing/postgres';
import { createTestVhost, type TestVhost } from '@gozon/adapters/testing/rabbitmq';
import { freePort, GozonProcess } from './processes.js';

/** GoZon as separate processes on the real Postgres and RabbitMQ, each run in its own databases and vhost. */
export class ServerSystem {
  private constructor(
    readonly gatewayUrl: string,
    readonly parts: Record<'orders' | 'payments' | 'web' | 'gateway', GozonProcess>,
    private readonly resources: { orders: TestDatabase; payments: TestDatabase; vhost: TestVhost },
  ) {}

  static async start(): Promise<ServerSystem> {
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
    };
    const local = (port: number) => `http://127.0.0.1:${port}`;
    const parts = {
      payments: new GozonProcess('payments', env, `${local(paymentsPort)}/readyz`),
      orders: new GozonProcess('orders', env, `${local(ordersPort)}/readyz`),
      web: new GozonProcess('web', env, `${local(webPort)}/healthz`),
      gateway: new GozonProcess('gateway', env, `${local(gatewayPort)}/healthz`),
    };
    const system = new ServerSystem(local(gatewayPort), parts, { orders, payments, vhost });
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

  get databases(): { orders: TestDatabase; payments: TestDatabase } {
    return { orders: this.resources.orders, payments: this.resources.payments };
  }
}
