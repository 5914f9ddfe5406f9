import { Agent } from 'node:http';
import Koa from 'koa';
import proxy from 'koa-proxies';
import type { Context, Middleware } from 'koa';

export interface Upstreams {
  readonly ordersUrl: string;
  readonly paymentsUrl: string;
  readonly webUrl: string;
}

const failure = (code: string, message: string) => ({ error: { code, message } });

/** The gateway's route label: the upstream a path goes to (never the raw path). */
export const gatewayRoute = (ctx: Context): string => {
  if (ctx.path === '/healthz' || ctx.path === '/readyz' || ctx.path === '/metrics') return ctx.path;
  if (/^\/orders(\/|$)/.test(ctx.path)) return '/orders*';
  if (/^\/payments(\/|$)/.test(ctx.path)) return '/payments*';
  return '/*';
};

/** Paths of the services' own that are not for the outside, whatever the web app would do with them. */
const INTERNAL = new Set(['/metrics']);

/** The gateway's own probes (the services' are not reachable from outside): it is ready while it runs. */
const OWN = new Map<string, object>([
  ['/healthz', { status: 'ok' }],
  ['/readyz', { status: 'ready' }],
]);

/**
 * The public entry: `/orders*` and `/payments*` to the services, everything else to web. The
 * proxy runs before any body parsing (bodies stream through untouched) and reuses upstream
 * connections through a keep-alive agent.
 */
export const createGatewayApp = (upstreams: Upstreams, telemetry?: Middleware): { app: Koa; agent: Agent } => {
  const agent = new Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 64 });
  const app = new Koa();
  app.silent = true;
  // Outermost: it starts (or continues) the trace and sets the request id the upstreams get.
  if (telemetry) app.use(telemetry);

  // Proxy failures surface as a bare status; give them the contract's error shape.
  app.use(async (ctx, next) => {
    try {
      await next();
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

  // An upstream that stops answering fails the request (502) instead of hanging it.
  const to = (target: string) => ({ target, changeOrigin: false, agent, xfwd: true, proxyTimeout: 30_000 });
  const toOrders = proxy('/orders', to(upstreams.ordersUrl));
  const toPayments = proxy('/payments', to(upstreams.paymentsUrl));
  const toWeb = proxy('/', to(upstreams.webUrl));
  // One look at the path picks the way: the gateway's own probes, a path kept inside, or an upstream.
  app.use(async (ctx, next) => {
    const own = OWN.get(ctx.path);
    if (own && (ctx.method === 'GET' || ctx.method === 'HEAD')) {
      ctx.body = own;
      return;
    }
    if (INTERNAL.has(ctx.path)) {
      ctx.status = 404;
      ctx.body = failure('not_found', `no route for ${ctx.method} ${ctx.path}`);
      return;
    }
    const route = gatewayRoute(ctx);
    if (route === '/orders*') return toOrders(ctx, next);
    if (route === '/payments*') return toPayments(ctx, next);
    return toWeb(ctx, next);
  });
  return { app, agent };
};
