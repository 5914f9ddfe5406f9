import type { Middleware } from 'koa';
import { isDomainError, type ErrorKind } from '@gozon/core';
import { HttpError } from './http-error.js';

const statusOf: Record<ErrorKind, number> = {
  validation: 400,
  forbidden: 403,
  malformed_message: 400,
  not_found: 404,
  conflict: 409,
  idempotency: 422,
  unavailable: 503,
};

// Connection-level failures of a dependency: the client may retry, nothing is wrong with its
// request. Node socket codes and Postgres SQLSTATEs of classes 08 (connection) and 57P (shutdown).
const UNAVAILABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  '57P01',
  '57P02',
  '57P03',
]);

export const isUnavailable = (err: unknown): boolean => {
  if (typeof err !== 'object' || err === null) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (UNAVAILABLE.has(code) || code.startsWith('08'))) return true;
  const message = (err as { message?: unknown }).message;
  return (
    typeof message === 'string' &&
    /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Query read timeout/i.test(
      message,
    )
  );
};

export interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string };
}

/**
 * The one place errors become HTTP answers in the contract's shape. Nothing of an unexpected
 * error reaches the client: no stack, no SQL, no connection string; it is logged instead.
 */
export const errorMiddleware =
  (log: (err: unknown, ctx: { method: string; path: string }) => void): Middleware =>
  async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        throw new HttpError(404, 'not_found', `no route for ${ctx.method} ${ctx.path}`);
      }
      // The router answers these itself, in plain text; keep its Allow header, give them our shape.
      if (ctx.status === 405 || ctx.status === 501) {
        const allowed = ctx.response.get('Allow');
        ctx.body = {
          error: {
            code: ctx.status === 405 ? 'method_not_allowed' : 'not_implemented',
            message: `${ctx.method} is not supported here${allowed ? `; allowed: ${allowed}` : ''}`,
          },
        };
      }
    } catch (err) {
      let status = 500;
      let body: ErrorBody = { error: { code: 'internal_error', message: 'something went wrong on our side' } };
      if (isDomainError(err)) {
        status = statusOf[err.kind];
        body = { error: { code: err.code, message: err.message } };
      } else if (err instanceof HttpError) {
        status = err.status;
        body = { error: { code: err.code, message: err.message } };
      } else if (isUnavailable(err)) {
        status = 503;
        body = { error: { code: 'service_unavailable', message: 'a dependency is unavailable; try again shortly' } };
        log(err, ctx);
      } else {
        log(err, ctx);
      }
      ctx.status = status;
      ctx.body = body;
      if (status === 503) ctx.set('Retry-After', '1');
    }
  };
