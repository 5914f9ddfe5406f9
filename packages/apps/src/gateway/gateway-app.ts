import { Agent } from 'node:http';
import Koa from 'koa';
import proxy from 'koa-proxies';
import type { Context, Middleware } from 'koa';
import { healthRoutes } from '../http/health.js';

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

  // The gateway's own health; the services' probes are not reachable from outside.
  app.use(healthRoutes(async () => true).routes());
  app.use(async (ctx, next) => {
    if (!INTERNAL.has(ctx.path)) return next();
    ctx.status = 404;
    ctx.body = failure('not_found', `no route for ${ctx.method} ${ctx.path}`);
  });

  // An upstream that stops answering fails the request (502) instead of hanging it.
  const to = (target: string) => ({ target, changeOrigin: false, agent, xfwd: true, proxyTimeout: 30_000 });
  app.use(proxy('/orders', to(upstreams.ordersUrl)));
  app.use(proxy('/payments', to(upstreams.paymentsUrl)));
  app.use(proxy('/', to(upstreams.webUrl)));
  return { app, agent };
};
