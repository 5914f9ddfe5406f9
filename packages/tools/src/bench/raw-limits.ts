import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import proxy from 'koa-proxies';
import { Agent } from 'node:http';
import { Worker } from 'node:worker_threads';
import pg from 'pg';
import { connect, type ConfirmChannel } from 'amqplib';
import { MessageTypes, Routes } from '@gozon/core';
import { encodeMessage } from '@gozon/messaging';
import {
  contentOf,
  declareTopology,
  DEFAULT_EXCHANGE,
  defaultTopology,
  publishOptions,
} from '@gozon/adapters/rabbitmq';
import { createTestDatabase, createTestVhost } from '../support/scratch.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  authenticate,
  createLogger,
  gatewayApp,
  logDestination,
  MemorySessionStore,
  sessionToBearer,
  TokenVerifier,
} from '@gozon/apps/internals';
import { closedLoop, HttpClient } from './http-client.js';

/**
 * What this machine does without GoZon, measured in the same run so results are ratios:
 * the outbox-shaped transaction from Node `pg` (an order row, an outbox row, a NOTIFY).
 */
export const rawOutboxTps = async (seconds: number, concurrency = 8): Promise<number> => {
  const database = await createTestDatabase('orders');
  const pool = new pg.Pool({ connectionString: database.url, max: concurrency });
  // Dropping the scratch database ends any connection still closing; that is no failure.
  pool.on('error', () => undefined);
  try {
    const result = await closedLoop(concurrency, seconds, async () => {
      const client = await pool.connect();
      try {
        const id = randomUUID();
        const now = new Date();
        await client.query('BEGIN');
        await client.query(
          `INSERT INTO orders (id, user_id, amount, description, status, failure_reason, created_at, updated_at)
           VALUES ($1, $2, $3, $4, 'NEW', NULL, $5, $5)`,
          [id, 'bench-raw', 100, 'raw', now],
        );
        await client.query(
          `INSERT INTO outbox (message_id, routing_key, type, correlation_id, causation_id, occurred_at, payload, headers)
           VALUES ($1, 'order.payments', 'payment.requested', $2, NULL, $3, $4::jsonb, '{}'::jsonb)`,
          [randomUUID(), id, now.toISOString(), JSON.stringify({ order_id: id, user_id: 'bench-raw', amount: 100 })],
        );
        await client.query("SELECT pg_notify('gozon_outbox', '')");
        await client.query('COMMIT');
        return true;
      } finally {
        client.release();
      }
    });
    return result.perSecond;
  } finally {
    await pool.end();
    await database.drop();
  }
};

/**
 * Messages per second of `publish` called `messages` times on a confirm channel of a fresh vhost
 * (set up first by `prepare`), with one confirm wait per batch of 200.
 */
const confirmedPublishRate = async (
  messages: number,
  prepare: (channel: ConfirmChannel) => Promise<unknown>,
  publish: (channel: ConfirmChannel) => boolean,
): Promise<number> => {
  const vhost = await createTestVhost();
  const connection = await connect(vhost.url);
  try {
    const channel = await connection.createConfirmChannel();
    await prepare(channel);
    const started = performance.now();
    for (let sent = 0; sent < messages; sent += 200) {
      for (let i = 0; i < 200; i += 1) {
        if (!publish(channel)) await new Promise((resolve) => channel.once('drain', resolve));
      }
      await channel.waitForConfirms();
    }
    return messages / ((performance.now() - started) / 1000);
  } finally {
    await connection.close();
    await vhost.delete();
  }
};

/** `amqplib` publishing persistent messages with one confirm wait per batch of 200. */
export const rawPublishRate = (messages: number): Promise<number> => {
  const body = Buffer.from(JSON.stringify({ order_id: randomUUID(), user_id: 'bench-raw', amount: 100 }));
  return confirmedPublishRate(
    messages,
    (channel) => channel.assertQueue('raw', { durable: true }),
    (channel) =>
      channel.publish('', 'raw', body, {
        persistent: true,
        messageId: randomUUID(),
        type: 'payment.requested',
        contentType: 'application/json',
      }),
  );
};

/**
 * A diagnostic beside `rawPublishRate`, not a replacement: the same amqplib loop, but publishing
 * the relay's messages as the relay does (its AMQP properties, `mandatory`, persistent) through
 * the contract's topic exchange into the contract's queue, declared as the services declare it.
 * Its gap to `rawPublishRate` is what exchange routing and the contract's properties cost the
 * broker; the relay's gap to it is the relay's own overhead.
 */
export const rawTopicPublishRate = (messages: number): Promise<number> =>
  confirmedPublishRate(
    messages,
    (channel) => declareTopology(channel, defaultTopology),
    (channel) => {
      const orderId = randomUUID();
      const wire = encodeMessage({
        id: randomUUID(),
        type: MessageTypes.paymentRequested,
        correlationId: orderId,
        occurredAt: new Date().toISOString(),
        payload: { order_id: orderId, user_id: 'bench-raw', amount: 100 },
        headers: {},
      });
      return channel.publish(DEFAULT_EXCHANGE, Routes.orderPayments, contentOf(wire), {
        ...publishOptions(wire),
        mandatory: true,
      });
    },
  );

const listen = (server: Server): Promise<number> =>
  new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));

/**
 * The built-in OpenID provider on a port of its own, in a directory of its own, and an
 * administrator's token from it: what the gateway with identity on verifies in the benchmark.
 */
const startIssuer = async (): Promise<{ verifier: TokenVerifier; token: string; close: () => Promise<void> }> => {
  const dir = await mkdtemp(join(tmpdir(), 'gozon-bench-issuer-'));
  const app = new Koa();
  // Koa composes its middleware when asked for the callback: ask on each request, once it is there.
  const server = createServer((req, res) => void app.callback()(req, res));
  const port = await listen(server);
  const issuer = `http://127.0.0.1:${port}/auth`;
  // Loaded here, not with the module: the provider's library is slow to load and talks on stderr.
  const { BuiltInProvider } = await import('@gozon/apps/internals/provider');
  const provider = await BuiltInProvider.open({
    issuer,
    audience: 'gozon',
    dataDir: dir,
    webRedirectUri: `http://127.0.0.1:${port}/session/callback`,
    webPostLogoutUri: `http://127.0.0.1:${port}/`,
  });
  app.use(provider.middleware);
  const verifier = new TokenVerifier({ issuer, audience: 'gozon', userClaim: 'sub' });
  await verifier.ready();
  return {
    verifier,
    token: await provider.mint('bench-admin', { admin: true }),
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await rm(dir, { recursive: true, force: true });
    },
  };
};

/**
 * A bare Koa app answering a small JSON body, a bare keep-alive koa-proxies proxy in front of it,
 * and GoZon's gateway as it runs (telemetry and request log lines included; the log goes to
 * /dev/null here, to a pipe or terminal in a real process) in front of it too: once with identity
 * (every request's token verified, keys cached) and once with `GOZON_AUTH=none`.
 */
export const startProxyTargets = async (): Promise<{
  upstreamPort: number;
  proxyPort: number;
  gatewayPort: number;
  openGatewayPort: number;
  token: string;
  close: () => Promise<void>;
}> => {
  const upstream = new Koa();
  upstream.use((ctx) => {
    ctx.body = { user_id: 'bench', balance: 100 };
  });
  const upstreamServer = createServer(upstream.callback());
  const upstreamPort = await listen(upstreamServer);
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const gateway = new Koa();
  gateway.use(proxy('/', { target: `http://127.0.0.1:${upstreamPort}`, agent }));
  const gatewayServer = createServer(gateway.callback());
  const proxyPort = await listen(gatewayServer);
  const target = `http://127.0.0.1:${upstreamPort}`;
  // The gateway's logger as `gozon gateway` makes it (level, redaction, trace fields, its
  // destination's batching), into /dev/null.
  const issuer = await startIssuer();
  // The API's steps as `gozon gateway` runs them: with identity, browser sessions and then the token check.
  const ourGateway = async (verifier: TokenVerifier | null) => {
    const api = verifier ? [sessionToBearer(new MemorySessionStore()), authenticate(verifier)] : [authenticate(null)];
    const { app, agent: upstreamAgent } = gatewayApp(
      { ordersUrl: target, paymentsUrl: target, webUrl: target },
      createLogger('gozon', false, logDestination('/dev/null')),
      { api },
    );
    const server = createServer(app.callback());
    return { server, agent: upstreamAgent, port: await listen(server) };
  };
  const ours = await ourGateway(issuer.verifier);
  const open = await ourGateway(null);
  return {
    upstreamPort,
    proxyPort,
    gatewayPort: ours.port,
    openGatewayPort: open.port,
    token: issuer.token,
    close: async () => {
      agent.destroy();
      for (const gateway of [ours, open]) {
        gateway.agent.destroy();
        await new Promise((resolve) => gateway.server.close(resolve));
      }
      await issuer.close();
      await new Promise((resolve) => gatewayServer.close(resolve));
      await new Promise((resolve) => upstreamServer.close(resolve));
    },
  };
};

/** The path every proxy benchmark asks for: a balance read, as the gateway routes it. */
export const proxyBenchPath = '/payments/accounts/x/balance';

/** Requests per second direct, behind the bare proxy and behind GoZon's gateway, with identity and without. */
export interface ProxyRates {
  readonly direct: number;
  readonly proxied: number;
  /** GoZon's gateway with identity on: each request's access token verified. */
  readonly gateway: number;
  /** The same gateway with `GOZON_AUTH=none`. */
  readonly gatewayOpen: number;
}

/** Requests per second direct, behind the bare proxy and behind GoZon's gateway (`startProxyTargets`). */
export const rawProxyRate = async (seconds: number, concurrency: number): Promise<ProxyRates> => {
  const targets = await startProxyTargets();
  // Every request carries the token, so the four differ only in what stands in front of the app.
  const client = new HttpClient({ authorization: `Bearer ${targets.token}` });
  try {
    const hit = (port: number) => async () =>
      (await client.send(`http://127.0.0.1:${port}${proxyBenchPath}`, 'GET')).status === 200;
    const direct = await closedLoop(concurrency, seconds, hit(targets.upstreamPort));
    const proxied = await closedLoop(concurrency, seconds, hit(targets.proxyPort));
    const viaGozon = await closedLoop(concurrency, seconds, hit(targets.gatewayPort));
    const viaOpen = await closedLoop(concurrency, seconds, hit(targets.openGatewayPort));
    return {
      direct: direct.perSecond,
      proxied: proxied.perSecond,
      gateway: viaGozon.perSecond,
      gatewayOpen: viaOpen.perSecond,
    };
  } finally {
    client.close();
    await targets.close();
  }
};

/**
 * `rawProxyRate` in a worker thread with tracing installed as the gateway process has it: the
 * bare proxy, the upstream and GoZon's gateway all pay the context manager's cost, as in production,
 * and the benchmark's other measurements do not.
 */
export const proxyRatesTraced = (seconds: number, concurrency: number): Promise<ProxyRates> =>
  new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./proxy-rate-worker.js', import.meta.url), {
      workerData: { seconds, concurrency },
    });
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the proxy benchmark's worker exited (${code})`)));
  });
