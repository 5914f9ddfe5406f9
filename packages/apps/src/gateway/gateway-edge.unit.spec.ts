import { expect } from 'chai';
import { createServer, request, type IncomingHttpHeaders, type OutgoingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Middleware } from 'koa';
import { pino } from 'pino';
import { createWebApp } from '../web/web-app.js';
import { createGatewayApp, type GatewayEdge, type GatewayExtras } from './gateway-app.js';
import { GatewayRateLimits } from './rate-limits.js';

const listen = async (server: Server): Promise<string> => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};
const close = (server: Server) => new Promise((resolve) => server.close(resolve));

/** A request with any headers (fetch refuses Connection, Upgrade, TE and the like). */
const raw = (
  url: string,
  headers: OutgoingHttpHeaders,
  method = 'GET',
): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> =>
  new Promise((resolve, reject) => {
    const req = request(url, { method, headers, agent: false }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });

/** An upstream that records the headers it gets and answers with hop-by-hop headers of its own. */
const recording = (seen: IncomingHttpHeaders[]) =>
  createServer((req, res) => {
    seen.push(req.headers);
    res.setHeader('connection', 'keep-alive, x-upstream-hop');
    res.setHeader('x-upstream-hop', 'secret');
    res.setHeader('keep-alive', 'timeout=5');
    res.setHeader('proxy-authenticate', 'Basic');
    res.setHeader('content-type', 'text/html');
    res.end('<!doctype html>');
  });

/** A gateway before three upstreams, all `upstream`, with `extras`; stopped by `stop`. */
const gatewayBefore = async (upstream: Server, extras: GatewayExtras = {}) => {
  const url = await listen(upstream);
  const { app, agent } = createGatewayApp({ ordersUrl: url, paymentsUrl: url, webUrl: url }, undefined, 5_000, extras);
  const server = createServer(app.callback());
  const base = await listen(server);
  const stop = async () => {
    agent.destroy();
    upstream.closeAllConnections();
    server.closeAllConnections();
    await Promise.all([close(server), close(upstream)]);
  };
  return { base, stop };
};

const codeOf = (body: string): string => (JSON.parse(body) as { error: { code: string } }).error.code;

describe('the gateway as the edge: headers', () => {
  it('strips hop-by-hop headers both ways, and what Connection names', async () => {
    const seen: IncomingHttpHeaders[] = [];
    const gateway = await gatewayBefore(recording(seen));
    try {
      const res = await raw(`${gateway.base}/`, {
        connection: 'close, x-client-hop',
        'x-client-hop': 'secret',
        'keep-alive': 'timeout=1',
        'proxy-authorization': 'Basic eDp5',
        'proxy-connection': 'keep-alive',
        te: 'trailers',
        upgrade: 'websocket',
        'x-kept': 'yes',
      });
      expect(res.status).to.equal(200);
      expect(seen[0]).to.include({ 'x-kept': 'yes' });
      for (const name of ['x-client-hop', 'keep-alive', 'proxy-authorization', 'proxy-connection', 'te', 'upgrade']) {
        expect(seen[0], name).to.not.have.property(name);
      }
      for (const name of ['x-upstream-hop', 'keep-alive', 'proxy-authenticate']) {
        expect(res.headers, name).to.not.have.property(name);
      }
      expect(res.headers['connection']).to.equal('close');
    } finally {
      await gateway.stop();
    }
  });

  it('replaces X-Forwarded-* a client sends; keeps (and appends to) those of a trusted proxy', async () => {
    const seen: IncomingHttpHeaders[] = [];
    const lied = { 'x-forwarded-for': '10.9.9.9', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.example' };
    const untrusting = await gatewayBefore(recording(seen));
    try {
      await raw(`${untrusting.base}/`, lied);
    } finally {
      await untrusting.stop();
    }
    const host = new URL(untrusting.base).host;
    expect(seen[0]).to.include({
      'x-forwarded-for': '127.0.0.1',
      'x-forwarded-proto': 'http',
      'x-forwarded-host': host,
    });
    const trusting = await gatewayBefore(recording(seen), { edge: { trustedProxies: new Set(['127.0.0.1']) } });
    try {
      await raw(`${trusting.base}/`, lied);
    } finally {
      await trusting.stop();
    }
    expect(seen[1]).to.include({
      'x-forwarded-for': '10.9.9.9, 127.0.0.1',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'evil.example',
    });
  });

  it('answers other methods on its probes 405 with Allow: GET, HEAD', async () => {
    const gateway = await gatewayBefore(recording([]));
    try {
      for (const path of ['/healthz', '/readyz']) {
        const res = await raw(`${gateway.base}${path}`, {}, 'POST');
        expect(res.status).to.equal(405);
        expect(res.headers['allow']).to.equal('GET, HEAD');
        expect(codeOf(res.body)).to.equal('method_not_allowed');
        expect((await raw(`${gateway.base}${path}`, {}, 'HEAD')).status).to.equal(200);
      }
    } finally {
      await gateway.stop();
    }
  });

  it('serves the page, through the gateway and from web itself, with a CSP without unsafe-inline and nosniff', async () => {
    const web = createServer(createWebApp().callback());
    const gateway = await gatewayBefore(web);
    try {
      const direct = await fetch(new URL('/', `http://127.0.0.1:${(web.address() as AddressInfo).port}`));
      const through = await fetch(`${gateway.base}/`);
      for (const res of [direct, through]) {
        expect(res.status).to.equal(200);
        const csp = res.headers.get('content-security-policy') ?? '';
        expect(csp).to.contain("default-src 'self'").and.contain("frame-ancestors 'none'");
        expect(csp).to.not.contain('unsafe-inline');
        expect(res.headers.get('x-content-type-options')).to.equal('nosniff');
        expect(res.headers.get('referrer-policy')).to.equal('same-origin');
        expect(await res.text()).to.not.match(/<script(?![^>]*\ssrc=)|<style|\sstyle=|\son[a-z]+=/i);
      }
    } finally {
      await gateway.stop();
    }
  });
});

describe('the gateway as the edge: how much it lets through', () => {
  it('answers 503 upstream_busy with Retry-After, at once, past its bound of requests in flight to one upstream', async () => {
    const waiting: (() => void)[] = [];
    const slow = createServer((_req, res) => waiting.push(() => res.end('done')));
    const gateway = await gatewayBefore(slow, { edge: { maxInFlightPerUpstream: 2 } });
    try {
      const first = [fetch(`${gateway.base}/orders/1`), fetch(`${gateway.base}/orders/2`)];
      while (waiting.length < 2) await new Promise((resolve) => setTimeout(resolve, 10));
      const started = Date.now();
      const busy = await fetch(`${gateway.base}/orders/3`);
      expect(Date.now() - started).to.be.below(500);
      expect(busy.status).to.equal(503);
      expect(busy.headers.get('retry-after')).to.equal('1');
      expect(codeOf(await busy.text())).to.equal('upstream_busy');
      // Another upstream has its own bound.
      const web = fetch(`${gateway.base}/page`);
      while (waiting.length < 3) await new Promise((resolve) => setTimeout(resolve, 10));
      for (const done of waiting.splice(0)) done();
      expect(await Promise.all([...first, web].map(async (res) => (await res).status))).to.deep.equal([200, 200, 200]);
      const again = fetch(`${gateway.base}/orders/4`);
      while (waiting.length < 1) await new Promise((resolve) => setTimeout(resolve, 10));
      waiting.shift()!();
      expect((await again).status).to.equal(200);
    } finally {
      await gateway.stop();
    }
  });

  /** An API check standing for the token check: `x-user` is the caller, none is 401. */
  const fakeIdentity: Middleware = async (ctx, next) => {
    const user = ctx.get('x-user');
    if (!user) {
      ctx.status = 401;
      ctx.body = { error: { code: 'unauthorized', message: 'no token' } };
      return;
    }
    ctx.state['caller'] = { userId: user, admin: false };
    await next();
  };

  const limitedGateway = async (perAddress: number, perUser: number) => {
    const limits = GatewayRateLimits.open(
      { perAddress, perUser, windowSeconds: 60, redisUrl: undefined },
      pino({ level: 'silent' }),
    );
    const edge: GatewayEdge = { byAddress: limits.byAddress, byUser: limits.byUser };
    return gatewayBefore(recording([]), { api: [fakeIdentity], edge });
  };

  it('limits each user after the token check: 429 rate_limited with Retry-After; others go on', async () => {
    const gateway = await limitedGateway(0, 2);
    try {
      const as = (user: string) => fetch(`${gateway.base}/orders`, { headers: { 'x-user': user } });
      expect([(await as('ann')).status, (await as('ann')).status]).to.deep.equal([200, 200]);
      const over = await as('ann');
      expect(over.status).to.equal(429);
      expect(Number(over.headers.get('retry-after'))).to.be.within(1, 60);
      expect(codeOf(await over.text())).to.equal('rate_limited');
      expect((await as('bob')).status).to.equal(200);
      // The page is no API request: no user budget.
      expect((await fetch(`${gateway.base}/`)).status).to.equal(200);
    } finally {
      await gateway.stop();
    }
  });

  it('limits each client address before the token check, so unauthenticated floods are refused too', async () => {
    const gateway = await limitedGateway(3, 0);
    try {
      const statuses = [];
      for (let i = 0; i < 4; i += 1) statuses.push((await fetch(`${gateway.base}/orders`)).status);
      expect(statuses).to.deep.equal([401, 401, 401, 429]);
      expect((await fetch(`${gateway.base}/`)).status).to.equal(429);
      // The load balancer's probes are never limited.
      expect((await fetch(`${gateway.base}/healthz`)).status).to.equal(200);
    } finally {
      await gateway.stop();
    }
  });
});
