import Router from '@koa/router';
import type Koa from 'koa';
import { pageLimit, type GetOrder, type ListOrders, type PlaceOrder } from '@gozon/core';
import { callerOf } from '../auth/bearer.js';
import { readJson } from '../http/json-body.js';
import { serviceApp, type ServiceAppOptions } from '../http/service-app.js';
import { idempotencyKey, placeOrderBody, validate } from '../http/validation.js';
import { traceHeaders } from '../observability/tracing.js';
import { decodeCursor, nextLink } from './order-cursor.js';

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
    const first = (name: string) => {
      const value = ctx.query[name];
      return Array.isArray(value) ? value[0] : value;
    };
    const [user, limit, cursor] = [first('user_id'), first('limit'), first('cursor')];
    const after = cursor === undefined ? undefined : decodeCursor(cursor);
    const page = await useCases.listOrders.execute(callerOf(ctx), user, { limit, after });
    if (page.next) {
      const query = { ...(user ? { userId: user } : {}), limit: pageLimit(limit) };
      ctx.set('Link', nextLink(ctx.path, query, page.next));
    }
    ctx.body = page.orders;
  });

  router.get('/:id', async (ctx) => {
    ctx.body = await useCases.getOrder.execute(callerOf(ctx), ctx.params['id'] ?? '');
  });

  return serviceApp(router, options);
};
