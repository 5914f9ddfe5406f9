import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InMemorySystem } from '@gozon/adapters/in-memory';
import { authenticate } from '../auth/bearer.js';
import { createOrdersApp } from '../orders/orders-app.js';
import { createPaymentsApp } from '../payments/payments-app.js';

/** The orders and payments apps on in-memory use cases, each on a port of its own. */
export interface InMemoryApis {
  readonly system: InMemorySystem;
  readonly orders: string;
  readonly payments: string;
  stop(): Promise<void>;
}

/**
 * Both services' HTTP APIs without identity, so that every request names its user: suites about
 * the API's shapes (identity has suites of its own). Unexpected errors go to `logError`.
 */
export const startInMemoryApis = async (logError: (err: unknown) => void = () => undefined): Promise<InMemoryApis> => {
  const system = new InMemorySystem();
  await system.start();
  const servers: Server[] = [];
  const options = { ready: async () => true, logError, authenticate: authenticate(null) };
  const listen = (app: { callback(): RequestListener }) =>
    new Promise<string>((resolve) => {
      const server = createServer(app.callback()).listen(0, '127.0.0.1', () => {
        resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
      });
      servers.push(server);
    });
  return {
    system,
    orders: await listen(createOrdersApp(system, options)),
    payments: await listen(createPaymentsApp(system, options)),
    stop: async () => {
      await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
      await system.stop();
    },
  };
};
