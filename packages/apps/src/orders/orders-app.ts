import Router from '@koa/router';
import type Koa from 'koa';
import type { GetOrder, ListOrders, PlaceOrder } from '@gozon/core';
import { callerOf } from '../auth/bearer.js';
import { readJson } from '../http/json-body.js';
import { serviceApp, type ServiceAppOptions } from '../http/service-app.js';
import { idempotencyKey, placeOrderBody, validate } from '../http/validation.js';
import { traceHeaders } from '../observability/tracing.js';

export interface OrdersUseCases {
  readonly placeOrder: Pick<PlaceOrder, 'execute'>;
  readonly getOrder: Pick<GetOrder, 'execute'>;
  readonly listOrders: Pick<ListOrders, 'execute'>;
}

/** The orders service's HTTP API, built from its use cases (no container needed). */
export const createOrdersApp = (useCases: OrdersUseCases, options: ServiceAppOptions): Koa => {
  const router = new Router({ prefix: '/orders' });

  router.post('/', async (ctx) => {
    const key = idempotencyKey(ctx.headers['idempotency-key']);
    const body = validate(placeOrderBody, await readJson(ctx));
    // The request's span continues in the payment request; without tracing, the caller's context as is.
    const traceparent = ctx.get('traceparent');
    const headers = traceHeaders();
    ctx.status = 201;
    ctx.body = await useCases.placeOrder.execute({
      caller: callerOf(ctx),
      userId: body.user_id,
      amount: body.amount,
      description: body.description ?? '',
      idempotencyKey: key,
      headers: headers['traceparent'] ? headers : traceparent ? { traceparent } : {},
    });
  });

  router.get('/', async (ctx) => {
    const user = ctx.query['user_id'];
    ctx.body = await useCases.listOrders.execute(callerOf(ctx), Array.isArray(user) ? user[0] : user);
  });

  router.get('/:id', async (ctx) => {
    ctx.body = await useCases.getOrder.execute(callerOf(ctx), ctx.params['id'] ?? '');
  });

  return serviceApp(router, options);
};
