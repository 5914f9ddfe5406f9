import Koa, { type Middleware } from 'koa';
import Router from '@koa/router';
import { errorMiddleware } from './error-middleware.js';
import { healthRoutes, type ReadinessCheck } from './health.js';

export interface ServiceAppOptions {
  readonly ready: ReadinessCheck;
  readonly logError: (err: unknown, ctx: { method: string; path: string }) => void;
  /** Proves who is asking before any API route runs (see `auth/bearer.ts`). */
  readonly authenticate: Middleware;
  /** Runs outside everything else: request id, trace span, the request's log line and metrics. */
  readonly telemetry?: Middleware;
  /** `GET /metrics` on the service's own port: the Prometheus text and its content type. */
  readonly metrics?: () => Promise<{ contentType: string; body: string }>;
}

/**
 * The frame both services share: telemetry outermost (it sees the final status), the error
 * middleware, health and metrics routes, then authentication, then the API.
 */
export const serviceApp = (api: Router, options: ServiceAppOptions): Koa => {
  const app = new Koa();
  app.proxy = true;
  if (options.telemetry) app.use(options.telemetry);
  app.use(errorMiddleware(options.logError));
  const health = healthRoutes(options.ready);
  app.use(health.routes());
  const metrics = options.metrics;
  if (metrics) {
    const scrape = new Router();
    scrape.get('/metrics', async (ctx) => {
      const { contentType, body } = await metrics();
      ctx.type = contentType;
      ctx.body = body;
    });
    app.use(scrape.routes());
  }
  // Everything past health and metrics acts as someone: no route runs before this check.
  app.use(options.authenticate);
  app.use(api.routes());
  // Sets 405 (or 501) with an Allow header; the error middleware gives it the contract's shape.
  app.use(api.allowedMethods({ throw: false }));
  // Koa's own error event would print stacks for errors we already answered; keep it quiet.
  app.silent = true;
  return app;
};
