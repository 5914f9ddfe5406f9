import { errors, type Configuration, type Grant, type KoaContextWithOIDC, type ResourceServer } from 'oidc-provider';
import { userId } from '../http/validation.js';
import { interactionPath } from './interaction-routes.js';
import type { ProviderSecrets } from './provider-secrets.js';
import { SIGNING_ALG } from './provider-secrets.js';
import { PAGE_SECURITY_POLICY, errorPage, signOutPage, signedOutPage } from './sign-in-page.js';

/** The resource indicator of the GoZon API (resource indicators must be absolute URIs). */
export const API_RESOURCE = 'urn:gozon:api';
/** The scope every GoZon API token carries. */
export const API_SCOPE = 'gozon:api';
/** Acts for any user; only `gozon token --admin` (`BuiltInProvider.mint`) issues it, never a browser sign-in. */
export const ADMIN_SCOPE = 'gozon:admin';
/** The gateway's backend-for-frontend: signs users in with authorization code and PKCE. */
export const WEB_CLIENT_ID = 'gozon-web';
/** Names the tokens `mint` issues; it has no grant type, so nothing can be asked of it over HTTP. */
export const TOOL_CLIENT_ID = 'gozon-token';

export const DEFAULT_TOKEN_TTL_SECONDS = 3600;

export interface ProviderSettings {
  readonly audience: string;
  readonly mountPath: string;
  readonly secureCookies: boolean;
  readonly webRedirectUri: string;
  readonly webPostLogoutUri: string;
}

/** What a token for the API is: a JWT for `audience`, signed with the persisted key. */
export const apiResourceServer = (audience: string, scope: string): ResourceServer => ({
  scope,
  audience,
  accessTokenFormat: 'jwt',
  accessTokenTTL: DEFAULT_TOKEN_TTL_SECONDS,
  jwt: { sign: { alg: SIGNING_ALG } },
});

/**
 * The first-party web client is never asked for consent: its grant is made here, and it can only
 * ever hold `openid` and the API scope — so no browser sign-in yields `gozon:admin`.
 */
const loadExistingGrant = async (ctx: KoaContextWithOIDC): Promise<Grant | undefined> => {
  const { client, session, provider, result } = ctx.oidc;
  if (!client || !session?.accountId) return undefined;
  const grantId = (result?.consent as { grantId?: string } | undefined)?.grantId ?? session.grantIdFor(client.clientId);
  const existing = grantId ? await provider.Grant.find(grantId) : undefined;
  if (client.clientId !== WEB_CLIENT_ID) return existing;
  const grant = existing ?? new provider.Grant({ clientId: client.clientId, accountId: session.accountId });
  grant.addOIDCScope('openid');
  grant.addResourceScope(API_RESOURCE, API_SCOPE);
  await grant.save();
  return grant;
};

const page = (ctx: KoaContextWithOIDC, body: string): void => {
  ctx.type = 'html';
  ctx.set('Cache-Control', 'no-store');
  ctx.set('Content-Security-Policy', PAGE_SECURITY_POLICY);
  ctx.body = body;
};

const clients = (settings: ProviderSettings, secrets: ProviderSecrets): Configuration['clients'] => [
  {
    client_id: WEB_CLIENT_ID,
    client_secret: secrets.webClientSecret,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    redirect_uris: [settings.webRedirectUri],
    post_logout_redirect_uris: [settings.webPostLogoutUri],
    token_endpoint_auth_method: 'client_secret_basic',
  },
  {
    client_id: TOOL_CLIENT_ID,
    grant_types: [],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'none',
  },
];

/** Lifetimes, each set explicitly (the library's defaults print a notice on stdout, which `gozon token` owns). */
const ttl: Configuration['ttl'] = {
  AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? DEFAULT_TOKEN_TTL_SECONDS,
  AuthorizationCode: 60,
  IdToken: 3600,
  Interaction: 600,
  Session: 24 * 3600,
  Grant: 24 * 3600,
};

export const providerConfiguration = (settings: ProviderSettings, secrets: ProviderSecrets): Configuration => {
  const cookie = { httpOnly: true, sameSite: 'lax', secure: settings.secureCookies, signed: true } as const;
  return {
    clients: clients(settings, secrets),
    jwks: { keys: secrets.signingKeys.map((key) => ({ ...key })) },
    cookies: { keys: [...secrets.cookieKeys], long: cookie, short: cookie },
    // OpenID scopes only; the API's scopes belong to its resource server (getResourceServerInfo).
    scopes: ['openid'],
    claims: { openid: ['sub'] },
    findAccount: (_ctx, id) =>
      userId.safeParse(id).success ? { accountId: id, claims: () => ({ sub: id }) } : undefined,
    loadExistingGrant,
    pkce: { required: () => true },
    interactions: { url: (_ctx, interaction) => `${settings.mountPath}${interactionPath(interaction.uid)}` },
    ttl,
    // The backend-for-frontend calls from the server; no browser origin needs the token endpoint.
    clientBasedCORS: () => false,
    renderError: (ctx, out) => page(ctx, errorPage(String(out.error), out.error_description)),
    features: {
      devInteractions: { enabled: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => API_RESOURCE,
        // The web client asks for `openid`; its access token is still for the API, not userinfo.
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, resource) => {
          if (resource !== API_RESOURCE) throw new errors.InvalidTarget();
          return apiResourceServer(settings.audience, API_SCOPE);
        },
      },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: (ctx, form) => page(ctx, signOutPage(form)),
        postLogoutSuccessSource: (ctx) => page(ctx, signedOutPage()),
      },
    },
  };
};
