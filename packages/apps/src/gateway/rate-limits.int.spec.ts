import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { pino, type Logger } from 'pino';
import { createGatewayApp } from './gateway-app.js';
import { GatewayRateLimits, type RateLimitSettings } from './rate-limits.js';

const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';

const listen = async (server: Server): Promise<string> => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};
const close = (server: Server) => new Promise((resolve) => server.close(resolve));

/** A gateway whose every upstream answers 200, limited by `settings`. */
const gateway = async (upstreamUrl: string, settings: RateLimitSettings, log: Logger) => {
  const limits = GatewayRateLimits.open(settings, log);
  await limits.ready();
  const { app, agent } = createGatewayApp(
    { ordersUrl: upstreamUrl, paymentsUrl: upstreamUrl, webUrl: upstreamUrl },
    undefined,
    5_000,
    { edge: { byAddress: limits.byAddress, byUser: limits.byUser } },
  );
  const server = createServer(app.callback());
  const base = await listen(server);
  const stop = async () => {
    agent.destroy();
    server.closeAllConnections();
    await close(server);
    await limits.close();
  };
  return { base, stop };
};

const statusOf = async (url: string): Promise<number> => (await fetch(url)).status;

describe('the gateway rate limits on Redis', () => {
  const upstream = createServer((_req, res) => res.end('ok'));
  const prefix = `gozon-test:rate:${randomUUID()}`;
  let upstreamUrl = '';
  const silent = pino({ level: 'silent' });

  before(async () => {
    upstreamUrl = await listen(upstream);
  });
  after(async () => {
    upstream.closeAllConnections();
    await close(upstream);
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  it('shares one budget among two gateways: their combined requests hit it', async () => {
    const settings = { perAddress: 5, perUser: 0, windowSeconds: 60, redisUrl: REDIS_URL, keyPrefix: prefix };
    const [a, b] = [await gateway(upstreamUrl, settings, silent), await gateway(upstreamUrl, settings, silent)];
    try {
      const statuses: number[] = [];
      for (const base of [a.base, b.base, a.base, b.base, a.base]) statuses.push(await statusOf(`${base}/`));
      expect(statuses).to.deep.equal([200, 200, 200, 200, 200]);
      const over = await fetch(`${b.base}/`);
      expect(over.status).to.equal(429);
      expect(Number(over.headers.get('retry-after'))).to.be.within(1, 60);
      expect(await statusOf(`${a.base}/`)).to.equal(429);
      const redis = new Redis(REDIS_URL);
      expect(await redis.keys(`${prefix}:address*`)).to.have.length(1);
      await redis.quit();
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it('counts in memory, with a warning, while Redis cannot be reached', async () => {
    const lines: string[] = [];
    const log = pino(
      { level: 'info' },
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          lines.push(chunk.toString());
          done();
        },
      }),
    );
    const settings = {
      perAddress: 2,
      perUser: 0,
      windowSeconds: 60,
      redisUrl: 'redis://127.0.0.1:1',
      keyPrefix: prefix,
    };
    const g = await gateway(upstreamUrl, settings, log);
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 3; i += 1) statuses.push(await statusOf(`${g.base}/`));
      expect(statuses).to.deep.equal([200, 200, 429]);
      expect(lines.join('')).to.contain('rate limits: Redis unreachable');
    } finally {
      await g.stop();
    }
  });
});
