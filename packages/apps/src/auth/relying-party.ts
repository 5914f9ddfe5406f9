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

  private discover(): Promise<oidc.Configuration> {
    const { issuer, clientId, clientSecret, reachIssuerAt } = this.settings;
    const insecure = issuer.startsWith('http:') || reachIssuerAt?.startsWith('http:');
    const options: oidc.DiscoveryRequestOptions = {
      execute: insecure ? [oidc.allowInsecureRequests] : [],
      timeout: 10,
    };
    if (reachIssuerAt) options[oidc.customFetch] = rerouted(issuer, reachIssuerAt);
    const auth = clientSecret === undefined ? oidc.None() : oidc.ClientSecretBasic(clientSecret);
    return oidc.discovery(new URL(issuer), clientId, clientSecret, auth, options);
  }
}
