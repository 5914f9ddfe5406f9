import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import Koa from 'koa';
import serve from 'koa-static';
import type { Middleware } from 'koa';
import { healthRoutes } from '../http/health.js';
import { securityHeaders } from '../http/security-headers.js';

/** Where the front end's files are: packages/web/public, found through the package itself. */
export const webRoot = (): string =>
  join(dirname(createRequire(import.meta.url).resolve('@gozon/web/package.json')), 'public');

/** The web part's route label: its probes by name, every file of the page as one route. */
export const webRoute = (ctx: { path: string }): string =>
  ctx.path === '/healthz' || ctx.path === '/readyz' ? ctx.path : '/*';

/**
 * Serves the single-page front end as static files; unknown paths get the page itself.
 * `telemetry`, outermost, gives each request its log line and continues the gateway's trace.
 */
export const createWebApp = (root: string = webRoot(), telemetry?: Middleware): Koa => {
  const app = new Koa();
  app.silent = true;
  if (telemetry) app.use(telemetry);
  app.use(securityHeaders());
  app.use(healthRoutes(async () => true).routes());
  app.use(serve(root, { maxage: 0, gzip: false }));
  app.use(async (ctx, next) => {
    await next();
    if (ctx.status === 404 && ctx.method === 'GET' && ctx.accepts('html')) {
      ctx.redirect('/');
    }
  });
  return app;
};
