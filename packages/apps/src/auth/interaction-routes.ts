import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import getRawBody from 'raw-body';
import { userId } from '../http/validation.js';
import { PAGE_SECURITY_POLICY, errorPage, signInPage } from './sign-in-page.js';

/** Where oidc-provider sends a browser that must sign in, below the provider's mount path. */
export const interactionPath = (uid: string): string => `/interaction/${uid}`;

const ROUTE = /^\/interaction\/([A-Za-z0-9_-]{1,64})$/;

const html = (ctx: Context, status: number, body: string): void => {
  ctx.status = status;
  ctx.type = 'html';
  ctx.set('Cache-Control', 'no-store');
  ctx.set('Content-Security-Policy', PAGE_SECURITY_POLICY);
  ctx.body = body;
};

/** The sign-in request this browser is in, or `undefined` when its cookie is gone or expired. */
const interactionOf = async (provider: Provider, ctx: Context, uid: string) => {
  try {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    return details.uid === uid ? details : undefined;
  } catch {
    return undefined;
  }
};

/** The submitted user name from an `application/x-www-form-urlencoded` body of at most 4 KiB. */
const submittedName = async (ctx: Context): Promise<string | undefined> => {
  if (!ctx.is('application/x-www-form-urlencoded')) return undefined;
  const body = await getRawBody(ctx.req, { limit: '4kb', encoding: 'utf8' });
  return new URLSearchParams(body).get('user')?.trim();
};

const signIn = async (provider: Provider, ctx: Context, action: string): Promise<void> => {
  const name = await submittedName(ctx);
  const parsed = userId.safeParse(name);
  if (!parsed.success) {
    const error = name
      ? `"${name.slice(0, 80)}" is not a valid user name: ${parsed.error.issues[0]?.message}`
      : 'Type a user name.';
    return html(ctx, 400, signInPage(action, { userName: name?.slice(0, 80), error }));
  }
  const to = await provider.interactionResult(ctx.req, ctx.res, { login: { accountId: parsed.data } });
  ctx.status = 303;
  ctx.redirect(to);
};

/**
 * The development sign-in page, at `<mount>/interaction/<uid>`: a form for any valid user name.
 * Consent is never asked (the only client that signs users in is first-party, see
 * `loadExistingGrant`), so a request needing anything but a sign-in is refused. Answers whether it
 * handled the request.
 */
export const handleInteraction = async (provider: Provider, ctx: Context, mountPath: string): Promise<boolean> => {
  const uid = ROUTE.exec(ctx.path)?.[1];
  if (uid === undefined || (ctx.method !== 'GET' && ctx.method !== 'POST')) return false;
  const details = await interactionOf(provider, ctx, uid);
  if (!details) {
    html(
      ctx,
      400,
      errorPage('sign-in expired', 'this sign-in request is unknown or expired; start again from the app'),
    );
    return true;
  }
  if (details.prompt.name !== 'login') {
    const to = await provider.interactionResult(ctx.req, ctx.res, {
      error: 'access_denied',
      error_description: 'this provider does not ask for consent',
    });
    ctx.status = 303;
    ctx.redirect(to);
    return true;
  }
  const action = `${mountPath}${interactionPath(uid)}`;
  if (ctx.method === 'GET') html(ctx, 200, signInPage(action));
  else await signIn(provider, ctx, action);
  return true;
};
