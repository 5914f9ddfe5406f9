import { Agent, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { parse } from 'node:url';
import Koa from 'koa';
import proxy from 'koa-proxies';
import type { Context, Middleware } from 'koa';

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

/** The gateway's route label: the upstream a path goes to (never the raw path). */
export const gatewayRoute = (ctx: Context): string => routeOf(ctx.path);

const EVERY_PATH = /^\//;

/** Paths of the services' own that are not for the outside, whatever the web app would do with them. */
const INTERNAL = new Set(['/metrics']);

/** The gateway's own probes (the services' are not reachable from outside): it is ready while it runs. */
const OWN = new Map<string, object>([
  ['/healthz', { status: 'ok' }],
  ['/readyz', { status: 'ready' }],
]);

const appended = (previous: string | string[] | undefined, value: string): string =>
  previous ? `${String(previous)},${value}` : value;

/**
 * The `X-Forwarded-*` headers http-proxy's `xfwd` would set, in one step: the caller's address,
 * port and scheme appended to what earlier proxies said, the host it asked for kept.
 */
const forwardedHeaders = (req: IncomingMessage): void => {
  const { headers, socket } = req;
  const encrypted = (socket as Partial<TLSSocket>).encrypted === true;
  const host = headers.host;
  const port = (host && /:(\d+)/.exec(host)?.[1]) || (encrypted ? '443' : '80');
  headers['x-forwarded-for'] = appended(headers['x-forwarded-for'], socket.remoteAddress ?? '');
  headers['x-forwarded-port'] = appended(headers['x-forwarded-port'], port);
  headers['x-forwarded-proto'] = appended(headers['x-forwarded-proto'], encrypted ? 'https' : 'http');
  headers['x-forwarded-host'] ||= host ?? '';
};

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

/** What the gateway does besides proxying: paths it answers itself, and checks before the API. */
export interface GatewayExtras {
  /** Paths the gateway answers itself (e.g. `/auth`, the built-in provider): each prefix and below. */
  readonly own?: readonly { readonly prefix: string; readonly handle: Middleware }[];
  /**
   * Run in order before a request is proxied to `/orders*` or `/payments*` (sessions, then the
   * token check); a step that answers by itself ends the request there.
   */
  readonly api?: readonly Middleware[];
}

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

  // The route is chosen before, so each proxy matches every path: as a RegExp, which koa-proxies
  // takes as it is, where a string pattern it compiles again on every request. Likewise, http-proxy
  // parses a target URL given as a string on every request, and takes a parsed one as it is (its
  // own parser's result; koa-proxies' types know of strings only).
  const to = (target: string) =>
    proxy(EVERY_PATH, { target: parse(target) as unknown as string, changeOrigin: false, agent });
  const upstream = new Map([
    ['/orders*', to(upstreams.ordersUrl)],
    ['/payments*', to(upstreams.paymentsUrl)],
    ['/*', to(upstreams.webUrl)],
  ]);
  const mounted = extras.own ?? [];
  const checks = extras.api ?? [];
  /** Whether every check let the request through (one that answers itself ends it). */
  const passes = async (ctx: Context): Promise<boolean> => {
    for (const check of checks) {
      let passed = false;
      await check(ctx, async () => {
        passed = true;
      });
      if (!passed) return false;
    }
    return true;
  };
  // One look at the path picks the way: the gateway's own probes, a path kept inside, or an upstream.
  app.use(async (ctx, next) => {
    const path = ctx.path;
    const own = OWN.get(path);
    if (own && (ctx.method === 'GET' || ctx.method === 'HEAD')) {
      ctx.body = own;
      return;
    }
    if (INTERNAL.has(path)) {
      ctx.status = 404;
      ctx.body = failure('not_found', `no route for ${ctx.method} ${path}`);
      return;
    }
    const mount = mounted.find((m) => under(path, m.prefix));
    if (mount) return mount.handle(ctx, next);
    const route = routeOf(path);
    if (route !== '/*' && !(await passes(ctx))) return;
    forwardedHeaders(ctx.req);
    // Proxy failures surface as a bare status (or a rejection); give them the contract's error shape.
    try {
      await upstream.get(route)!(ctx, next);
    } catch {
      if (!ctx.res.headersSent) ctx.status = 502;
    }
    if (ctx.res.headersSent || ctx.body != null || ctx.status < 500) return;
    ctx.body =
      ctx.status === 503
        ? failure('upstream_unavailable', 'the service behind this path is not reachable; try again shortly')
        : failure('bad_gateway', 'the service behind this path failed to answer');
    if (ctx.status !== 503) ctx.status = 502;
  });
  return { app, agent };
};
