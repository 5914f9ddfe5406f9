import { expect } from 'chai';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { installTracing } from '../observability/tracing.js';
import { gatewayApp } from '../runtime/gateway-part.js';
import { createGatewayApp } from './gateway-app.js';

const listen = async (server: Server): Promise<string> => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};
const close = (server: Server) => new Promise((resolve) => server.close(resolve));

/** What an upstream saw of one request. */
interface Seen {
  readonly upstream: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly socket: number;
}

/**
 * An upstream that answers with the body it was sent, except on `/…/hang` (it never answers) and
 * `/…/reset` (it drops the connection).
 */
const upstream = (name: string, seen: Seen[]) => {
  const sockets = new WeakMap<object, number>();
  return createServer((req, res) => {
    if (!sockets.has(req.socket)) sockets.set(req.socket, seen.length);
    seen.push({ upstream: name, url: req.url ?? '', headers: req.headers, socket: sockets.get(req.socket)! });
    if (req.url?.endsWith('/hang')) return;
    if (req.url?.endsWith('/reset')) return req.socket.destroy();
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      res.setHeader('content-type', req.headers['content-type'] ?? 'text/plain');
      res.end(Buffer.concat(chunks));
    });
  });
};

const parent = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' };

describe('the gateway: routes, request ids, traces and forwarded headers, failures', () => {
  const seen: Seen[] = [];
  const lines: Record<string, unknown>[] = [];
  const servers = {
    orders: upstream('orders', seen),
    payments: upstream('payments', seen),
    web: upstream('web', seen),
  };
  const gateway: { server?: Server; base: string; destroy?: () => void } = { base: '' };

  before(async () => {
    installTracing('gozon-unit');
    const [ordersUrl, paymentsUrl, webUrl] = await Promise.all([
      listen(servers.orders),
      listen(servers.payments),
      listen(servers.web),
    ]);
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    });
    const log = pino({ level: 'debug' }, stream);
    const { app, agent } = gatewayApp({ ordersUrl: ordersUrl!, paymentsUrl: paymentsUrl!, webUrl: webUrl! }, log);
    gateway.server = createServer(app.callback());
    gateway.base = await listen(gateway.server);
    gateway.destroy = () => agent.destroy();
  });
  after(async () => {
    gateway.destroy?.();
    await close(gateway.server!);
    await Promise.all(Object.values(servers).map(close));
  });
  beforeEach(() => {
    seen.length = 0;
    lines.length = 0;
  });

  it('passes the request id, the continued trace and its own X-Forwarded-* (not the client’s) on, streams the body, logs one line', async () => {
    const body = JSON.stringify({ user_id: 'u1', amount: 5, note: 'é'.repeat(10_000) });
    const res = await fetch(`${gateway.base}/orders?x=1`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-request-id': 'req-1',
        traceparent: `00-${parent.traceId}-${parent.spanId}-01`,
        'x-forwarded-for': '10.0.0.1',
      },
      body,
    });
    expect(res.status).to.equal(200);
    expect(await res.text()).to.equal(body);
    expect(res.headers.get('x-request-id')).to.equal('req-1');
    expect(seen).to.have.length(1);
    const [{ upstream: to, url, headers }] = seen as [Seen];
    const host = new URL(gateway.base).host;
    expect({ to, url }).to.deep.equal({ to: 'orders', url: '/orders?x=1' });
    expect(headers).to.include({
      'x-request-id': 'req-1',
      'x-forwarded-for': '127.0.0.1',
      'x-forwarded-proto': 'http',
      'x-forwarded-host': host,
      'x-forwarded-port': host.split(':')[1],
    });
    const [version, traceId, spanId, flags] = String(headers['traceparent']).split('-');
    expect({ version, traceId, flags }).to.deep.equal({ version: '00', traceId: parent.traceId, flags: '01' });
    expect(spanId).to.not.equal(parent.spanId);
    expect(lines).to.have.length(1);
    expect(lines[0]).to.include({
      level: 30,
      msg: 'request',
      service: 'gateway',
      method: 'POST',
      route: '/orders*',
      path: '/orders',
      status: 200,
      request_id: 'req-1',
      trace_id: parent.traceId,
      span_id: spanId,
    });
    expect(lines[0]!['duration_ms']).to.be.a('number').and.at.least(0);
  });

  it('makes up a request id and a trace when the caller sends none (or an unusable one), and routes by prefix', async () => {
    for (const [path, to, route] of [
      ['/payments/accounts/u1/balance', 'payments', '/payments*'],
      ['/ordersx', 'web', '/*'],
      ['/', 'web', '/*'],
      // Without identity extras these reach web; their label names the gateway's own parts all the same.
      ['/auth/jwks', 'web', '/auth*'],
      ['/session', 'web', '/session*'],
      ['/authority', 'web', '/*'],
    ] as const) {
      seen.length = 0;
      lines.length = 0;
      const res = await fetch(`${gateway.base}${path}`, { headers: { 'x-request-id': 'not valid' } });
      expect(res.status).to.equal(200);
      const requestId = res.headers.get('x-request-id');
      expect(requestId).to.match(/^[0-9a-f-]{36}$/);
      expect(seen.map((s) => s.upstream)).to.deep.equal([to]);
      expect(seen[0]!.headers['x-request-id']).to.equal(requestId);
      const [, traceId, spanId] = String(seen[0]!.headers['traceparent']).split('-');
      expect(lines[0]).to.include({ route, path, request_id: requestId, trace_id: traceId, span_id: spanId });
    }
  });

  it('answers its own probes (logged at debug), keeps /metrics inside, and forwards nothing of them', async () => {
    for (const [path, status] of [
      ['/healthz', 'ok'],
      ['/readyz', 'ready'],
    ]) {
      const res = await fetch(`${gateway.base}${path}`);
      expect(res.status).to.equal(200);
      expect(await res.json()).to.deep.equal({ status });
    }
    const metrics = await fetch(`${gateway.base}/metrics`);
    expect(metrics.status).to.equal(404);
    expect(await metrics.json()).to.deep.equal({ error: { code: 'not_found', message: 'no route for GET /metrics' } });
    expect(seen).to.deep.equal([]);
    expect(lines.map((line) => [line['level'], line['route']])).to.deep.equal([
      [20, '/healthz'],
      [20, '/readyz'],
      [20, '/metrics'],
    ]);
  });

  it('reuses its connections to an upstream', async () => {
    for (let i = 0; i < 3; i += 1) await (await fetch(`${gateway.base}/payments/accounts/u${i}/balance`)).text();
    expect(new Set(seen.map((s) => s.socket)).size).to.equal(1);
  });

  it('answers 502 bad_gateway, in the error shape, when an upstream drops the connection', async () => {
    const res = await fetch(`${gateway.base}/orders/reset`);
    expect(res.status).to.equal(502);
    expect(((await res.json()) as { error: { code: string } }).error.code).to.equal('bad_gateway');
    expect(lines[0]).to.include({ status: 502, route: '/orders*' });
  });
});

describe('the gateway when an upstream fails', () => {
  it('answers 503 upstream_unavailable when nothing listens, and 502 once a silent upstream times out', async () => {
    const seen: Seen[] = [];
    const hanging = upstream('orders', seen);
    const ordersUrl = await listen(hanging);
    const dead = createServer();
    const deadUrl = await listen(dead);
    await close(dead);
    const { app, agent } = createGatewayApp({ ordersUrl, paymentsUrl: deadUrl, webUrl: deadUrl }, undefined, 300);
    const server = createServer(app.callback());
    const base = await listen(server);
    try {
      const down = await fetch(`${base}/payments/accounts`);
      expect(down.status).to.equal(503);
      expect(((await down.json()) as { error: { code: string } }).error.code).to.equal('upstream_unavailable');
      expect(down.headers.get('retry-after')).to.equal('1');

      const started = Date.now();
      const hung = await fetch(`${base}/orders/hang`);
      expect(hung.status).to.equal(502);
      expect(((await hung.json()) as { error: { code: string } }).error.code).to.equal('bad_gateway');
      expect(Date.now() - started).to.be.within(250, 5_000);

      // The next request gets a connection of its own and its answer.
      const ok = await fetch(`${base}/orders/after`);
      expect(ok.status).to.equal(200);
      // An idle connection is no silent upstream: it stays for the next request.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(await (await fetch(`${base}/orders/again`)).text()).to.equal('');
      expect(new Set(seen.slice(1).map((s) => s.socket)).size).to.equal(1);
    } finally {
      agent.destroy();
      hanging.closeAllConnections();
      await close(server);
      await close(hanging);
    }
  });
});
