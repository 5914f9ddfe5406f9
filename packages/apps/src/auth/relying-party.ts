import * as oidc from 'openid-client';

/** What a sign-in in progress needs when the browser comes back; kept at the gateway. */
export interface PendingLogin {
  readonly state: string;
  readonly nonce: string;
  readonly codeVerifier: string;
}

/** What the provider's code was worth. */
export interface Redeemed {
  readonly accessToken: string;
  /** Seconds the access token lives, if the provider said. */
  readonly expiresIn: number | undefined;
}

/** The gateway as the web page's OpenID client: the way out to the provider and the way back. */
export interface RelyingParty {
  /** Where to send the browser to sign in, and what to keep until it returns. */
  begin(): Promise<{ readonly url: URL; readonly pending: PendingLogin }>;
  /** Checks the provider's answer (`callback`, as the browser arrived) and redeems its code. */
  finish(callback: URL, pending: PendingLogin): Promise<Redeemed>;
}

export interface RelyingPartySettings {
  /** The issuer identifier, as tokens name it. */
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string | undefined;
  /** `<publicUrl>/session/callback`, registered with the provider. */
  readonly redirectUri: string;
  /**
   * Where this process reaches the issuer, when not at its public address: the built-in provider
   * is in the gateway itself, whose public URL may only resolve outside (a TLS proxy, a DNS name).
   */
  readonly reachIssuerAt?: string | undefined;
  /** More authorization request parameters the provider wants (e.g. `resource`). */
  readonly authorizationParameters?: Readonly<Record<string, string>>;
}

/** A fetch that sends requests for `from…` to `to…` instead; others as they are. */
const rerouted =
  (from: string, to: string): oidc.CustomFetch =>
  (url, options) =>
    fetch(url.startsWith(from) ? to + url.slice(from.length) : url, options as RequestInit);

/** openid-client's code flow with PKCE (S256), state and nonce; discovery once, retried after a failure. */
export class OidcRelyingParty implements RelyingParty {
  private configuration: Promise<oidc.Configuration> | undefined;

  constructor(private readonly settings: RelyingPartySettings) {}

  async begin(): Promise<{ url: URL; pending: PendingLogin }> {
    const config = await this.discovered();
    const pending = {
      state: oidc.randomState(),
      nonce: oidc.randomNonce(),
      codeVerifier: oidc.randomPKCECodeVerifier(),
    };
    const url = oidc.buildAuthorizationUrl(config, {
      ...this.settings.authorizationParameters,
      redirect_uri: this.settings.redirectUri,
      response_type: 'code',
      scope: 'openid',
      code_challenge: await oidc.calculatePKCECodeChallenge(pending.codeVerifier),
      code_challenge_method: 'S256',
      state: pending.state,
      nonce: pending.nonce,
      // Always ask who it is, so that a second person can sign in in the same browser.
      prompt: 'login',
    });
    return { url, pending };
  }

  async finish(callback: URL, pending: PendingLogin): Promise<Redeemed> {
    const tokens = await oidc.authorizationCodeGrant(await this.discovered(), callback, {
      pkceCodeVerifier: pending.codeVerifier,
      expectedState: pending.state,
      expectedNonce: pending.nonce,
      idTokenExpected: true,
    });
    return { accessToken: tokens.access_token, expiresIn: tokens.expiresIn() };
  }

  private discovered(): Promise<oidc.Configuration> {
    this.configuration ??= this.discover().catch((err: unknown) => {
      this.configuration = undefined;
      throw err;
    });
    return this.configuration;
  }

  private async discover(): Promise<oidc.Configuration> {
    const { issuer, clientId, clientSecret, reachIssuerAt } = this.settings;
    const auth = clientSecret === undefined ? oidc.None() : oidc.ClientSecretBasic(clientSecret);
    const insecure = issuer.startsWith('http:') || reachIssuerAt?.startsWith('http:');
    const execute = insecure ? [oidc.allowInsecureRequests] : [];
    if (!reachIssuerAt) return oidc.discovery(new URL(issuer), clientId, clientSecret, auth, { execute, timeout: 10 });
    const config = new oidc.Configuration(await localMetadata(issuer, reachIssuerAt), clientId, clientSecret, auth);
    config[oidc.customFetch] = rerouted(issuer, reachIssuerAt);
    execute.forEach((step) => step(config));
    return config;
  }
}

/**
 * The issuer's discovery document fetched at `reachedAt`, with its endpoints at the issuer's public
 * address: oidc-provider names its endpoints after the host a request came to, and the browser must
 * be sent to the public one. The issuer itself must match, as discovery requires.
 */
const localMetadata = async (issuer: string, reachedAt: string): Promise<oidc.ServerMetadata> => {
  const response = await fetch(`${reachedAt}/.well-known/openid-configuration`, {
    signal: AbortSignal.timeout(10_000),
  });
  if (!response.ok) throw new Error(`the provider's discovery document answered ${response.status}`);
  const metadata = (await response.json()) as Record<string, unknown>;
  if (metadata.issuer !== issuer) throw new Error('the provider names another issuer than the configured one');
  const local = new URL(reachedAt).origin;
  const outside = new URL(issuer).origin;
  const publicly = Object.entries(metadata).map(([key, value]) => [
    key,
    typeof value === 'string' && value.startsWith(`${local}/`) ? outside + value.slice(local.length) : value,
  ]);
  return Object.fromEntries(publicly) as oidc.ServerMetadata;
};
