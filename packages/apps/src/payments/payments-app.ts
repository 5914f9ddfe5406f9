import Router from '@koa/router';
import type Koa from 'koa';
import type { CreateAccount, Deposit, GetBalance } from '@gozon/core';
import { callerOf } from '../auth/bearer.js';
import { readJson } from '../http/json-body.js';
import { serviceApp, type ServiceAppOptions } from '../http/service-app.js';
import { createAccountBody, depositBody, idempotencyKey, validate } from '../http/validation.js';

export interface PaymentsUseCases {
  readonly createAccount: Pick<CreateAccount, 'execute'>;
  readonly deposit: Pick<Deposit, 'execute'>;
  readonly getBalance: Pick<GetBalance, 'execute'>;
}

/** The payments service's HTTP API, built from its use cases (no container needed). */
export const createPaymentsApp = (useCases: PaymentsUseCases, options: ServiceAppOptions): Koa => {
  const router = new Router({ prefix: '/payments/accounts' });

  router.post('/', async (ctx) => {
    const body = validate(createAccountBody, await readJson(ctx));
    ctx.status = 201;
    ctx.body = await useCases.createAccount.execute({ caller: callerOf(ctx), userId: body.user_id });
  });

  router.post('/deposit', async (ctx) => {
    const key = idempotencyKey(ctx.headers['idempotency-key']);
    const body = validate(depositBody, await readJson(ctx));
    ctx.body = await useCases.deposit.execute({
      caller: callerOf(ctx),
      userId: body.user_id,
      amount: body.amount,
      idempotencyKey: key,
    });
  });

  router.get('/:userId/balance', async (ctx) => {
    ctx.body = await useCases.getBalance.execute(callerOf(ctx), ctx.params['userId']);
  });

  return serviceApp(router, options);
};
