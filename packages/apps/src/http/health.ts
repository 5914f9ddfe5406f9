import Router from '@koa/router';

/** What a service reports about its dependencies: ready only while all of them work. */
export type ReadinessCheck = () => Promise<boolean>;

/** `/healthz`: the process answers. `/readyz`: its database and broker connections work. */
export const healthRoutes = (ready: ReadinessCheck): Router => {
  const router = new Router();
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async (ctx) => {
    const ok = await ready().catch(() => false);
    ctx.status = ok ? 200 : 503;
    ctx.body = ok
      ? { status: 'ready' }
      : { error: { code: 'not_ready', message: 'a database or broker connection is down' } };
  });
  return router;
};
