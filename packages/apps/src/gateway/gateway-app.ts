import { Agent, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { parse } from 'node:url';
import Koa from 'koa';
import proxy from 'koa-proxies';
import type { Context, Middleware } from 'koa';
import type { Caller } from '@gozon/core';
import { securityHeaders } from '../http/security-headers.js';
import { clientAddress, forwardedHeaders, stripHopByHop, type TrustedProxies } from './edge-headers.js';
import type { RequestBudget } from './rate-limits.js';
import { MAX_IN_FLIGHT_PER_UPSTREAM, UpstreamQueue } from './upstream-queue.js';

export interface Upstreams {
  readonly ordersUrl: string;
  readonly paymentsUrl: string;
  readonly webUrl: string;
}

const failure = (code: string, message: string) => ({ error: { code, message } });

/** Whether `path` is `prefix` or below it. */
const under = (path: string, prefix: string): boolean =>
  path.startsWith(prefix) && (path.length === prefix.length || path.charCodeAt(prefix.length) === 0x2f);

/** The route label of a path: the upstream it goes to (never the raw path). */
const routeOf = (path: string): string => {
  if (path === '/healthz' || path === '/readyz' || path === '/metrics') return path;
  if (under(path, '/orders')) return '/orders*';
  if (under(path, '/payments')) return '/payments*';
  return '/*';
};

/** Paths the gateway answers itself with identity on: the built-in provider and the browser sessions. */
const OWN_PREFIXES = ['/auth', '/session'];

/** The gateway's route label: the upstream a path goes to, or its own part (never the raw path). */
export const gatewayRoute = (ctx: Context): string => {
  const own = OWN_PREFIXES.find((prefix) => under(ctx.path, prefix));
  return own ? `${own}*` : routeOf(ctx.path);
};

const EVERY_PATH = /^\//;

/** Paths of the services' own that are not for the outside, whatever the web app would do with them. */
const INTERNAL = new Set(['/metrics']);

/** The gateway's own probes (the services' are not reachable from outside): it is ready while it runs. */
const OWN = new Map<string, object>([
  ['/healthz', { status: 'ok' }],
  ['/readyz', { status: 'ready' }],
]);

/**
 * The keep-alive agent to the upstreams, which fails a request (502) rather than let it hang when
 * its upstream has been silent on it for `timeoutMs`: it closes the connection. One timer for all
 * the connections in use, looking at what they have read and written, instead of a timer and five
 * listeners on every request as http-proxy's `proxyTimeout` sets; a failure comes up to a quarter
 * of the timeout (at most a second) late.
 */
class UpstreamAgent extends Agent {
  private readonly watch: NodeJS.Timeout;

  constructor(timeoutMs: number) {
    super({ keepAlive: true, maxSockets: 256, maxFreeSockets: 64 });
    const last = new WeakMap<Socket, { bytes: number; since: number }>();
    this.watch = setInterval(
      () => {
        const now = Date.now();
        for (const sockets of Object.values(this.sockets)) {
          for (const socket of sockets ?? []) {
            const bytes = socket.bytesRead + socket.bytesWritten;
            const seen = last.get(socket);
            if (seen?.bytes !== bytes) last.set(socket, { bytes, since: now });
            else if (now - seen.since >= timeoutMs) socket.destroy();
          }
        }
      },
      Math.min(1_000, timeoutMs / 4),
    );
    this.watch.unref();
  }

  override destroy(): void {
    clearInterval(this.watch);
    super.destroy();
  }
}

/** The gateway as the public edge: whom it believes, and how much it lets through. */
export interface GatewayEdge {
  /** Peers whose `X-Forwarded-*` are believed (`TRUST_PROXY`); anyone else's are replaced. */
  readonly trustedProxies?: TrustedProxies;
  /** Every request's budget per client address, taken before any other check. */
  readonly byAddress?: RequestBudget | undefined;
  /** An API request's budget per signed-in user, taken once its token is verified. */
  readonly byUser?: RequestBudget | undefined;
  /** Requests in flight (or waiting) to one upstream; beyond it `503 upstream_busy`. */
  readonly maxInFlightPerUpstream?: number;
}

/** What the gateway does besides proxying: paths it answers itself, and checks before the API. */
export interface GatewayExtras {
  /** Paths the gateway answers itself (e.g. `/auth`, the built-in provider): each prefix and below. */
  readonly own?: readonly { readonly prefix: string; readonly handle: Middleware }[];
  /**
   * Run in order before a request is proxied to `/orders*` or `/payments*` (sessions, then the
   * token check); a step that answers by itself ends the request there.
   */
  readonly api?: readonly Middleware[];
  readonly edge?: GatewayEdge;
}

/**
 * An upstream's answer loses its hop-by-hop headers; its Connection is what this server decided
 * for the client's connection (http-proxy would echo the client's own, or force keep-alive).
 */
const responseHeaders = (proxyRes: IncomingMessage, _req: IncomingMessage, res: ServerResponse): void => {
  stripHopByHop(proxyRes.headers);
  proxyRes.headers.connection = res.shouldKeepAlive ? 'keep-alive' : 'close';
};

/** The gateway's own probes: `GET`/`HEAD` answered, any other method `405` naming those two. */
const probe = (ctx: Context, answer: object): void => {
  if (ctx.method === 'GET' || ctx.method === 'HEAD') {
    ctx.body = answer;
    return;
  }
  ctx.status = 405;
  ctx.set('Allow', 'GET, HEAD');
  ctx.body = failure('method_not_allowed', `${ctx.method} is not allowed on ${ctx.path}; use GET or HEAD`);
};

/** Runs `checks` in order: whether every one let the request through (one that answers ends it). */
const passes = async (ctx: Context, checks: readonly Middleware[]): Promise<boolean> => {
  for (const check of checks) {
    let passed = false;
    await check(ctx, async () => {
      passed = true;
    });
    if (!passed) return false;
  }
  return true;
};

/** The checks before the API, then the caller's own budget (none without identity). */
const apiChecks = (checks: readonly Middleware[], byUser: RequestBudget | undefined) => async (ctx: Context) => {
  if (!(await passes(ctx, checks))) return false;
  const caller = (ctx.state as { caller?: Caller }).caller;
  return !byUser || !caller || byUser.take(ctx, caller.userId);
};

/** Gives a failed proxying the contract's error shape (it surfaces as a bare status or a rejection). */
const proxied = async (ctx: Context, send: () => Promise<void>): Promise<void> => {
  try {
    await send();
  } catch {
    if (!ctx.res.headersSent) ctx.status = 502;
  }
  if (ctx.res.headersSent || ctx.body != null || ctx.status < 500) return;
  ctx.body =
    ctx.status === 503
      ? failure('upstream_unavailable', 'the service behind this path is not reachable; try again shortly')
      : failure('bad_gateway', 'the service behind this path failed to answer');
  if (ctx.status !== 503) ctx.status = 502;
  // A service that is down or restarting is back within moments, as a limit reached is.
  else ctx.set('Retry-After', '1');
};

/**
 * The proxy to one upstream, behind its bound of requests in flight. The route is chosen before,
 * so it matches every path: as a RegExp, which koa-proxies takes as it is, where a string pattern
 * it compiles again on every request. Likewise, http-proxy parses a target URL given as a string on
 * every request, and takes a parsed one as it is (its own parser's result; koa-proxies' types know
 * of strings only).
 */
const upstreamProxy = (agent: Agent, name: string, target: string, max: number) => {
  const send = proxy(EVERY_PATH, {
    target: parse(target) as unknown as string,
    changeOrigin: false,
    agent,
    events: { proxyRes: responseHeaders },
  });
  const queue = new UpstreamQueue(name, max);
  return (ctx: Context) => queue.through(ctx, () => proxied(ctx, () => send(ctx, async () => undefined)));
};

/**
 * The public entry: `/orders*` and `/payments*` to the services, everything else to web. The
 * proxy runs before any body parsing (bodies stream through untouched) and reuses upstream
 * connections through a keep-alive agent.
 */
export const createGatewayApp = (
  upstreams: Upstreams,
  telemetry?: Middleware,
  /** How long an upstream may stay silent before its request fails. */
  upstreamTimeoutMs = 30_000,
  extras: GatewayExtras = {},
): { app: Koa; agent: Agent } => {
  const agent = new UpstreamAgent(upstreamTimeoutMs);
  const app = new Koa();
  app.silent = true;
  // Outermost: it starts (or continues) the trace and sets the request id the upstreams get.
  if (telemetry) app.use(telemetry);
  app.use(securityHeaders());
  const edge = extras.edge ?? {};
  const trusted = edge.trustedProxies ?? new Set<string>();
  const max = edge.maxInFlightPerUpstream ?? MAX_IN_FLIGHT_PER_UPSTREAM;

  const upstream = new Map([
    ['/orders*', upstreamProxy(agent, 'orders', upstreams.ordersUrl, max)],
    ['/payments*', upstreamProxy(agent, 'payments', upstreams.paymentsUrl, max)],
    ['/*', upstreamProxy(agent, 'web', upstreams.webUrl, max)],
  ]);
  const mounted = extras.own ?? [];
  const checked = apiChecks(extras.api ?? [], edge.byUser);
  // One look at the path picks the way: the gateway's own probes, a path kept inside, or an upstream.
  app.use(async (ctx, next) => {
    const path = ctx.path;
    const own = OWN.get(path);
    if (own) return probe(ctx, own);
    if (edge.byAddress && !(await edge.byAddress.take(ctx, clientAddress(ctx.req, trusted)))) return;
    if (INTERNAL.has(path)) {
      ctx.status = 404;
      ctx.body = failure('not_found', `no route for ${ctx.method} ${path}`);
      return;
    }
    const mount = mounted.find((m) => under(path, m.prefix));
    if (mount) return mount.handle(ctx, next);
    const route = routeOf(path);
    if (route !== '/*' && !(await checked(ctx))) return;
    stripHopByHop(ctx.req.headers);
    forwardedHeaders(ctx.req, trusted);
    await upstream.get(route)!(ctx);
  });
  return { app, agent };
};
