import { decodeJwt } from 'jose';
import type { Context, Middleware } from 'koa';
import { clearCookie, LOGIN_COOKIE, readCookie, SESSION_COOKIE, setCookie } from './cookies.js';
import { LOGIN_TTL_SECONDS, PendingLogins } from './pending-logins.js';
import type { RelyingParty } from './relying-party.js';
import type { SessionStore } from './session-store.js';
import { randomToken } from './session-store.js';
import { sameToken, CSRF_HEADER } from './session-to-bearer.js';
import { userId as validUserId } from '../http/validation.js';

/** The backend-for-frontend's routes, answered by the gateway itself. */
export const SESSION_PREFIX = '/session';

/** Never trust a session past this, whatever the token says. */
const MAX_SESSION_SECONDS = 24 * 3600;

export interface SessionRoutesOptions {
  readonly store: SessionStore;
  /** The way to the provider; undefined when no client is configured (sign-in answers 503). */
  readonly relyingParty: RelyingParty | undefined;
  /** `<publicUrl>/session/callback`: the provider's answer is checked against this address. */
  readonly redirectUri: string;
  /** The access token's claim that names the user. */
  readonly userClaim: string;
  /** Whether cookies are Secure (the public URL is https). */
  readonly secure: boolean;
  readonly log?: { warn(fields: object, message: string): void };
  readonly now?: () => number;
}

type Handler = (ctx: Context) => Promise<void> | void;

const json = (ctx: Context, status: number, body: object): void => {
  ctx.status = status;
  ctx.body = body;
};

const failure = (ctx: Context, status: number, code: string, message: string): void =>
  json(ctx, status, { error: { code, message } });

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A small page for the steps a person navigates to (sign-in, the provider's way back). */
const page = (ctx: Context, status: number, message: string): void => {
  ctx.status = status;
  ctx.type = 'html';
  ctx.body =
    '<!doctype html><html lang="en"><meta charset="utf-8"><title>GoZon sign-in</title>' +
    `<p>${escapeHtml(message)}</p><p><a href="/">Back to GoZon</a></p></html>`;
};

/** Answers `routes[method path]`; another method on a known path is 405, an unknown path 404. */
const dispatch =
  (routes: Record<string, Handler>): Middleware =>
  async (ctx) => {
    // Answers about who is signed in, or carrying a session, are for this browser only.
    ctx.set('Cache-Control', 'no-store');
    const handler =
      routes[`${ctx.method} ${ctx.path}`] ?? (ctx.method === 'HEAD' ? routes[`GET ${ctx.path}`] : undefined);
    if (handler) return handler(ctx);
    const allowed = Object.keys(routes).filter((key) => key.endsWith(` ${ctx.path}`));
    if (allowed.length === 0) return failure(ctx, 404, 'not_found', `no route for ${ctx.method} ${ctx.path}`);
    ctx.set('Allow', allowed.map((key) => key.split(' ')[0]).join(', '));
    failure(ctx, 405, 'method_not_allowed', `${ctx.method} is not allowed on ${ctx.path}`);
  };

/**
 * With `GOZON_AUTH=none` there is nothing to sign in to: `GET /session` says so, and the page
 * asks for a user id as it always did.
 */
export const sessionRoutesWithoutAuth = (): Middleware =>
  dispatch({ [`GET ${SESSION_PREFIX}`]: (ctx) => json(ctx, 200, { auth: 'none' }) });

/** What the session routes share: their options, the sign-ins in progress and the cookie helpers. */
interface Routes {
  readonly options: SessionRoutesOptions;
  readonly pending: PendingLogins;
  readonly now: () => number;
}

const cookieOf = (r: Routes, name: string, value: string, path: string, maxAgeSeconds: number): string =>
  setCookie(name, value, { secure: r.options.secure, path, maxAgeSeconds });

const sessionOf = (r: Routes, ctx: Context) => {
  const id = readCookie(ctx.get('cookie'), SESSION_COOKIE);
  return { id, session: id === undefined ? undefined : r.options.store.get(id) };
};

/** `GET /session`: who is signed in, with the CSRF token for writes; 401 when nobody is. */
const status =
  (r: Routes): Handler =>
  (ctx) => {
    const { session } = sessionOf(r, ctx);
    if (!session) {
      ctx.set('WWW-Authenticate', 'Bearer realm="gozon"');
      return failure(ctx, 401, 'unauthorized', 'not signed in');
    }
    json(ctx, 200, {
      user_id: session.userId,
      csrf_token: session.csrfToken,
      expires_at: session.expiresAt.toISOString(),
    });
  };

/** `GET /session/login`: to the provider (code flow, PKCE S256, state, nonce, `prompt=login`). */
const login =
  (r: Routes): Handler =>
  async (ctx) => {
    const { relyingParty, log } = r.options;
    if (!relyingParty) {
      return page(
        ctx,
        503,
        'Signing in from this page is not set up on this server (the operator sets OIDC_CLIENT_ID). ' +
          'The API still accepts access tokens from the identity provider.',
      );
    }
    let started;
    try {
      started = await relyingParty.begin();
    } catch (err) {
      log?.warn({ err: errorName(err) }, 'session: the identity provider could not be reached to sign in');
      return page(ctx, 503, 'The identity provider is not answering right now; try again in a moment.');
    }
    r.pending.add(started.pending);
    ctx.append('Set-Cookie', cookieOf(r, LOGIN_COOKIE, started.pending.state, SESSION_PREFIX, LOGIN_TTL_SECONDS));
    ctx.redirect(started.url.href);
  };

/** `GET /session/callback`: the provider's way back: a session, its cookie, and on to `/`. */
const callback =
  (r: Routes): Handler =>
  async (ctx) => {
    const { options, now } = r;
    ctx.append('Set-Cookie', clearCookie(LOGIN_COOKIE, SESSION_PREFIX, options.secure));
    const state = typeof ctx.query.state === 'string' ? ctx.query.state : undefined;
    const started = state !== undefined ? r.pending.take(state) : undefined;
    if (typeof ctx.query.error === 'string') {
      const code = /^[a-z_]{1,64}$/.test(ctx.query.error) ? ` (${ctx.query.error})` : '';
      return page(ctx, 400, `The sign-in was not completed${code}. Sign in again.`);
    }
    if (!started || !sameToken(readCookie(ctx.get('cookie'), LOGIN_COOKIE), started.state)) {
      return page(ctx, 400, 'This sign-in was not started from this browser, or took too long. Sign in again.');
    }
    const answer = new URL(options.redirectUri);
    answer.search = ctx.querystring;
    const session = await redeem(options, started, answer, now);
    if (typeof session === 'string') return page(ctx, 400, session);
    const old = readCookie(ctx.get('cookie'), SESSION_COOKIE);
    if (old !== undefined) options.store.delete(old);
    const id = options.store.create(session);
    const seconds = (session.expiresAt.getTime() - now()) / 1000;
    ctx.append('Set-Cookie', cookieOf(r, SESSION_COOKIE, id, '/', seconds));
    ctx.redirect('/');
  };

/** `POST /session/logout`: ends the session (CSRF header required while it lives); 204. */
const logout =
  (r: Routes): Handler =>
  (ctx) => {
    const { id, session } = sessionOf(r, ctx);
    if (session && !sameToken(ctx.get(CSRF_HEADER) || undefined, session.csrfToken)) {
      return failure(ctx, 403, 'forbidden', 'signing out needs the X-CSRF-Token header of the session');
    }
    if (id !== undefined) r.options.store.delete(id);
    ctx.append('Set-Cookie', clearCookie(SESSION_COOKIE, '/', r.options.secure));
    ctx.status = 204;
  };

/**
 * The web page's sign-in through the gateway (a backend-for-frontend): the gateway is a
 * confidential OpenID client, keeps the tokens, and gives the browser an HttpOnly session cookie.
 */
export const sessionRoutes = (options: SessionRoutesOptions): Middleware => {
  const r: Routes = { options, pending: new PendingLogins(), now: options.now ?? Date.now };
  return dispatch({
    [`GET ${SESSION_PREFIX}`]: status(r),
    [`GET ${SESSION_PREFIX}/login`]: login(r),
    [`GET ${SESSION_PREFIX}/callback`]: callback(r),
    [`POST ${SESSION_PREFIX}/logout`]: logout(r),
  });
};

/** An error's class name only: its message may quote what the provider sent. */
const errorName = (err: unknown): string => (err instanceof Error ? err.name : typeof err);

/**
 * Redeems the code and makes the session, or says in words why not (never with token contents).
 * The user is the access token's claim; the token is not verified here, since the API verifies
 * it on every request anyway.
 */
const redeem = async (
  options: SessionRoutesOptions,
  login: Parameters<RelyingParty['finish']>[1],
  answer: URL,
  now: () => number,
) => {
  let token;
  try {
    token = await options.relyingParty!.finish(answer, login);
  } catch (err) {
    options.log?.warn({ err: errorName(err) }, "session: the provider's answer to a sign-in was refused");
    return "The identity provider's answer could not be accepted. Sign in again.";
  }
  let claims;
  try {
    claims = decodeJwt(token.accessToken);
  } catch {
    return 'The identity provider gave an access token that is not a JWT; GoZon cannot use it.';
  }
  const userId = claims[options.userClaim];
  if (typeof userId !== 'string' || !validUserId.safeParse(userId).success) {
    return `The access token names no valid user in its "${options.userClaim}" claim.`;
  }
  const lifetimes = [
    MAX_SESSION_SECONDS,
    token.expiresIn,
    claims.exp === undefined ? undefined : claims.exp - now() / 1000,
  ];
  const seconds = Math.min(...lifetimes.filter((s): s is number => s !== undefined));
  if (!(seconds > 0)) return 'The identity provider gave an access token that has already expired. Sign in again.';
  return {
    userId,
    accessToken: token.accessToken,
    expiresAt: new Date(now() + seconds * 1000),
    csrfToken: randomToken(),
  };
};
