import { join } from 'node:path';
import type { Middleware } from 'koa';
import mount from 'koa-mount';
import Provider from 'oidc-provider';
import type { Config } from '../config.js';
import { userId } from '../http/validation.js';
import { handleInteraction } from './interaction-routes.js';
import {
  ADMIN_SCOPE,
  API_RESOURCE,
  API_SCOPE,
  DEFAULT_TOKEN_TTL_SECONDS,
  TOOL_CLIENT_ID,
  WEB_CLIENT_ID,
  apiResourceServer,
  providerConfiguration,
} from './provider-configuration.js';
import { loadOrCreateSecrets } from './provider-secrets.js';

export interface BuiltInProviderOptions {
  /** The issuer identifier, e.g. `http://localhost:8080/auth`; its path is where the provider is mounted. */
  readonly issuer: string;
  /** The `aud` of every access token. */
  readonly audience: string;
  /** Where the keys are kept (in `<dataDir>/auth/`). */
  readonly dataDir: string;
  /** Where the web client receives its authorization code, e.g. `<publicUrl>/session/callback`. */
  readonly webRedirectUri: string;
  /** Where the web client may send the browser after signing out, e.g. `<publicUrl>/`. */
  readonly webPostLogoutUri: string;
  /** Told of a request the provider failed to handle (it answers 500 and otherwise stays silent). */
  readonly onServerError?: (err: unknown) => void;
}

export interface MintOptions {
  /** Adds `gozon:admin`: the token may act for any user. */
  readonly admin?: boolean;
  /** Lifetime in seconds; one hour unless given. */
  readonly ttlSeconds?: number;
}

/**
 * The OpenID provider the gateway hosts when no external issuer is configured (oidc-provider, a
 * certified implementation), with a development sign-in page that accepts any user name.
 */
export class BuiltInProvider {
  /** Serves everything below the issuer's path (discovery, `jwks`, authorization, token, sign-in). */
  readonly middleware: Middleware;

  private constructor(
    private readonly provider: Provider,
    private readonly audience: string,
    /** The confidential client the gateway's backend-for-frontend signs users in with. */
    readonly webClient: { readonly clientId: string; readonly clientSecret: string },
  ) {
    const mountPath = new URL(provider.issuer).pathname.replace(/\/+$/, '') || '/';
    const app = mount(provider);
    const handle: Middleware = async (ctx, next) => {
      // oidc-provider sets some cookies through the host app's context and reads them back through
      // its own; the host app has no cookie keys, so both must go through the provider's.
      ctx.cookies = provider.createContext(ctx.req, ctx.res).cookies;
      if (await handleInteraction(provider, ctx, mountPath === '/' ? '' : mountPath)) return;
      await app(ctx, next);
    };
    this.middleware = mount(mountPath, handle);
  }

  static async open(options: BuiltInProviderOptions): Promise<BuiltInProvider> {
    const secrets = await loadOrCreateSecrets(join(options.dataDir, 'auth'));
    const issuerUrl = new URL(options.issuer);
    const secure = issuerUrl.protocol === 'https:';
    const settings = {
      audience: options.audience,
      mountPath: issuerUrl.pathname.replace(/\/+$/, ''),
      secureCookies: secure,
      webRedirectUri: options.webRedirectUri,
      webPostLogoutUri: options.webPostLogoutUri,
    };
    const provider = new Provider(options.issuer, providerConfiguration(settings, secrets));
    const onServerError = options.onServerError;
    if (onServerError) provider.on('server_error', (_ctx: unknown, err: unknown) => onServerError(err));
    // An https issuer sits behind a TLS-terminating proxy: trust its X-Forwarded-Proto so secure cookies can be set.
    provider.proxy = secure;
    return new BuiltInProvider(provider, options.audience, {
      clientId: WEB_CLIENT_ID,
      clientSecret: secrets.webClientSecret,
    });
  }

  /** A signed JWT access token for `user`, issued through the provider's own token model. */
  async mint(user: string, options: MintOptions = {}): Promise<string> {
    const accountId = userId.parse(user);
    const ttl = options.ttlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS;
    if (!Number.isSafeInteger(ttl) || ttl <= 0) throw new RangeError('ttlSeconds must be a positive integer');
    const scope = options.admin ? `${API_SCOPE} ${ADMIN_SCOPE}` : API_SCOPE;
    const client = await this.provider.Client.find(TOOL_CLIENT_ID);
    if (!client) throw new Error(`the ${TOOL_CLIENT_ID} client is not registered`);
    const grant = new this.provider.Grant({ clientId: client.clientId, accountId });
    grant.addResourceScope(API_RESOURCE, scope);
    const token = new this.provider.AccessToken({
      client,
      accountId,
      grantId: await grant.save(),
      gty: 'gozon_token',
      scope,
      expiresIn: ttl,
      resourceServer: new this.provider.ResourceServer(API_RESOURCE, apiResourceServer(this.audience, scope)),
    });
    return token.save();
  }
}

/** Mints a token from the built-in provider on `config.dataDir` (for `gozon token`, the bench and tests). */
export const mintAccessToken = async (config: Config, user: string, admin: boolean): Promise<string> => {
  const provider = await BuiltInProvider.open(builtInProviderOptions(config));
  return provider.mint(user, { admin });
};

/** The built-in provider as `config` describes it. */
export const builtInProviderOptions = (config: Config): BuiltInProviderOptions => ({
  issuer: config.auth.issuer,
  audience: config.auth.audience,
  dataDir: config.dataDir,
  webRedirectUri: `${config.publicUrl}/session/callback`,
  webPostLogoutUri: `${config.publicUrl}/`,
});
