import { createHash, timingSafeEqual } from 'node:crypto';
import type { Middleware } from 'koa';
import { readCookie, SESSION_COOKIE } from './cookies.js';
import type { SessionStore } from './session-store.js';

/** Methods that change nothing, so a cross-site page making the browser send them gains nothing. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The header a signed-in page sends on every write, with its session's token. */
export const CSRF_HEADER = 'x-csrf-token';

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

/** Compares in constant time (over digests, so unequal lengths leak nothing either). */
export const sameToken = (given: string | undefined, expected: string): boolean =>
  given !== undefined && given !== '' && timingSafeEqual(digest(given), digest(expected));

/**
 * The step before the token check on `/orders*` and `/payments*`: a browser's session cookie
 * becomes the session's bearer token, so the API sees a token either way. A write must also
 * carry the session's `X-CSRF-Token`: the cookie goes along on any request the browser sends, the
 * header only from our own page. An unknown or expired session adds nothing (the token check
 * answers 401), and a request that brings its own `Authorization` is left to it. The `Cookie`
 * header never reaches a service.
 */
export const sessionToBearer =
  (store: SessionStore): Middleware =>
  async (ctx, next) => {
    const headers = ctx.req.headers;
    const id = readCookie(headers.cookie, SESSION_COOKIE);
    delete headers.cookie;
    const session = headers.authorization === undefined && id !== undefined ? store.get(id) : undefined;
    if (session) {
      const header = headers[CSRF_HEADER];
      if (
        !SAFE_METHODS.has(ctx.method) &&
        !sameToken(typeof header === 'string' ? header : undefined, session.csrfToken)
      ) {
        ctx.status = 403;
        ctx.body = {
          error: { code: 'forbidden', message: 'a write from a signed-in page needs its X-CSRF-Token header' },
        };
        return;
      }
      headers.authorization = `Bearer ${session.accessToken}`;
    }
    await next();
  };
