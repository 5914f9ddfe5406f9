import type { Context, Middleware } from 'koa';
import type { Caller } from '@gozon/core';
import { KeysUnavailable, type TokenVerifier } from './verifier.js';

/** `Authorization: Bearer <token>`, the token in the characters RFC 6750 allows. */
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/** The caller a request proved, as the authentication middleware left it. */
export const callerOf = (ctx: Context): Caller => {
  const caller = (ctx.state as { caller?: Caller }).caller;
  if (caller === undefined) throw new Error('no authentication middleware ran before this route');
  return caller;
};

const refuse = (ctx: Context, message: string, invalid: boolean): void => {
  ctx.status = 401;
  // RFC 6750: a request without a token gets the bare challenge, a bad token `invalid_token`.
  ctx.set('WWW-Authenticate', invalid ? 'Bearer realm="gozon", error="invalid_token"' : 'Bearer realm="gozon"');
  ctx.body = { error: { code: 'unauthorized', message } };
};

/**
 * Every request proves who is asking with a verified access token; the caller is left in
 * `ctx.state.caller` for the routes. Without identity (`GOZON_AUTH=none`, `verifier` null) the
 * caller is null and requests name their users, as on a trusted network.
 */
export const authenticate =
  (verifier: TokenVerifier | null, onRefused?: (reason: string) => void): Middleware =>
  async (ctx, next) => {
    if (!verifier) {
      ctx.state['caller'] = null;
      return next();
    }
    const header = ctx.get('authorization');
    if (!header) return refuse(ctx, 'sign in: this request needs an access token (Authorization: Bearer)', false);
    const token = BEARER.exec(header)?.[1];
    if (!token) return refuse(ctx, 'the Authorization header must be "Bearer <access token>"', true);
    try {
      ctx.state['caller'] = await verifier.verify(token);
    } catch (err) {
      if (err instanceof KeysUnavailable) {
        ctx.status = 503;
        ctx.set('Retry-After', '2');
        ctx.body = {
          error: { code: 'auth_unavailable', message: 'sign-in keys are not available yet; try again shortly' },
        };
        return;
      }
      // The reason is jose's code (e.g. ERR_JWT_EXPIRED): never anything the token says.
      onRefused?.(err instanceof Error ? err.message : 'refused');
      return refuse(
        ctx,
        'the access token is not valid (expired, not for this service, or not signed by the issuer)',
        true,
      );
    }
    return next();
  };
