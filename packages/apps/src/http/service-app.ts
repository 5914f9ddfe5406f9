import Koa from 'koa';
import type Router from '@koa/router';
import { errorMiddleware } from './error-middleware.js';
import { healthRoutes, type ReadinessCheck } from './health.js';

export interface ServiceAppOptions {
  readonly ready: ReadinessCheck;
  readonly logError: (err: unknown, ctx: { method: string; path: string }) => void;
}

/** The frame both services share: the error middleware first, health routes, then the API. */
export const serviceApp = (api: Router, options: ServiceAppOptions): Koa => {
  const app = new Koa();
  app.proxy = true;
  app.use(errorMiddleware(options.logError));
  const health = healthRoutes(options.ready);
  app.use(health.routes());
  app.use(api.routes());
  // Sets 405 (or 501) with an Allow header; the error middleware gives it the contract's shape.
  app.use(api.allowedMethods({ throw: false }));
  // Koa's own error event would print stacks for errors we already answered; keep it quiet.
  app.silent = true;
  return app;
};
