import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';
import Koa from 'koa';
import * as client from 'openid-client';
import { BuiltInProvider } from './built-in-provider.js';
import { loadOrCreateSecrets } from './provider-secrets.js';

const AUDIENCE = 'gozon-test';
const GOZON = fileURLToPath(new URL('../../bin/gozon.js', import.meta.url));

/** A browser's cookies, enough for one origin: names and values, kept across redirects. */
class CookieJar {
  private readonly cookies = new Map<string, string>();

  take(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair = '', ...attributes] = line.split(';');
      const at = pair.indexOf('=');
      const name = pair.slice(0, at).trim();
      const expired = attributes.some((a) => /^\s*expires=Thu, 01 Jan 1970/i.test(a) || /^\s*max-age=0\b/i.test(a));
      if (expired) this.cookies.delete(name);
      else this.cookies.set(name, pair.slice(at + 1).trim());
    }
  }

  header(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}

describe('the built-in OpenID provider', function () {
  this.timeout(20_000);
  let dataDir: string;
  let server: Server;
  let base: string;
  let issuer: string;
  let provider: BuiltInProvider;

  const redirectUri = () => `${base}/session/callback`;
  const openProvider = () =>
    BuiltInProvider.open({
      issuer,
      audience: AUDIENCE,
      dataDir,
      webRedirectUri: redirectUri(),
      webPostLogoutUri: `${base}/`,
    });
  const verify = (token: string) =>
    jwtVerify(token, createRemoteJWKSet(new URL(`${issuer}/jwks`)), { issuer, audience: AUDIENCE });

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'gozon-provider-'));
    // The issuer names the port, so the server listens before the provider exists.
    server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    issuer = `${base}/auth`;
    provider = await openProvider();
    const app = new Koa();
    // Through the current provider, so that a test can swap in a reopened one.
    app.use((ctx, next) => provider.middleware(ctx, next));
    app.use((ctx) => {
      ctx.status = 404;
      ctx.body = 'not the provider';
    });
    server.on('request', app.callback());
  });

  after(async () => {
    await new Promise((resolve) => server.close(resolve));
    await rm(dataDir, { recursive: true, force: true });
  });

  describe('discovery and keys', () => {
    it('publishes its issuer and the JWKS at <issuer>/jwks', async () => {
      const response = await fetch(`${issuer}/.well-known/openid-configuration`);
      expect(response.status).to.equal(200);
      const document = (await response.json()) as Record<string, unknown>;
      expect(document.issuer).to.equal(issuer);
      expect(document.jwks_uri).to.equal(`${issuer}/jwks`);
      expect(document.code_challenge_methods_supported).to.deep.equal(['S256']);
    });

    it('serves public keys only', async () => {
      const response = await fetch(`${issuer}/jwks`);
      const { keys } = (await response.json()) as { keys: Record<string, unknown>[] };
      expect(keys).to.have.length(1);
      expect(keys[0]).to.include({ kty: 'RSA', alg: 'RS256', use: 'sig' });
      expect(keys[0]).to.have.property('kid').that.is.a('string');
      for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi']) expect(keys[0]).not.to.have.property(secret);
    });

    it('keeps its secrets in <dataDir>/auth, readable by the owner only', async () => {
      const file = await stat(join(dataDir, 'auth', 'provider-secrets.json'));
      expect(file.mode & 0o777).to.equal(0o600);
      expect((await stat(join(dataDir, 'auth'))).mode & 0o777).to.equal(0o700);
    });

    it('ends with one set of secrets when several openers create them at once', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'gozon-secrets-'));
      try {
        const opened = await Promise.all([1, 2, 3].map(() => loadOrCreateSecrets(dir)));
        const kids = opened.map((s) => s.signingKeys[0]?.kid);
        expect(new Set(kids).size).to.equal(1);
        expect(new Set(opened.map((s) => s.webClientSecret)).size).to.equal(1);
        expect((await loadOrCreateSecrets(dir)).signingKeys[0]?.kid).to.equal(kids[0]);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });

  describe('mint', () => {
    it('issues a JWT access token for the user that verifies against the published keys', async () => {
      const token = await provider.mint('alice');
      const { payload, protectedHeader } = await verify(token);
      expect(protectedHeader.alg).to.equal('RS256');
      expect(protectedHeader.typ).to.equal('at+jwt');
      expect(payload).to.include({ iss: issuer, aud: AUDIENCE, sub: 'alice', scope: 'gozon:api' });
      expect(payload.exp! - payload.iat!).to.equal(3600);
      expect(payload.jti).to.be.a('string').with.length.above(10);
    });

    it('adds gozon:admin to an admin token only', async () => {
      const admin = await verify(await provider.mint('ops', { admin: true }));
      const plain = await verify(await provider.mint('ops'));
      expect(scopes(admin.payload)).to.include('gozon:admin');
      expect(scopes(plain.payload)).not.to.include('gozon:admin');
    });

    it('honours a lifetime and refuses an invalid user id', async () => {
      const { payload } = await verify(await provider.mint('bob', { ttlSeconds: 120 }));
      expect(payload.exp! - payload.iat!).to.equal(120);
      let failure: unknown;
      await provider.mint('not a user').catch((err: unknown) => (failure = err));
      expect(failure).to.be.instanceOf(Error);
    });

    it('keeps its key when reopened on the same data directory: earlier tokens still verify', async () => {
      const before = await provider.mint('carol');
      const reopened = await openProvider();
      const after = await reopened.mint('carol');
      expect(decodeProtectedHeader(after).kid).to.equal(decodeProtectedHeader(before).kid);
      const previous = provider;
      provider = reopened;
      try {
        expect((await verify(before)).payload.sub).to.equal('carol');
        expect(reopened.webClient).to.deep.equal(previous.webClient);
      } finally {
        provider = previous;
      }
    });
  });

  describe('signing in from a browser (authorization code with PKCE)', () => {
    let config: client.Configuration;

    before(async () => {
      config = await client.discovery(
        new URL(issuer),
        provider.webClient.clientId,
        undefined,
        client.ClientSecretBasic(provider.webClient.clientSecret),
        { execute: [client.allowInsecureRequests] },
      );
    });

    /** Starts a sign-in as the web client does, up to the first answer that is not a redirect within the provider. */
    const start = async (jar: CookieJar, extra: Record<string, string> = {}) => {
      const verifier = client.randomPKCECodeVerifier();
      const state = client.randomState();
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: redirectUri(),
        scope: 'openid gozon:api gozon:admin',
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
        ...extra,
      });
      const landing = await follow(jar, url.href);
      return { verifier, state, landing };
    };

    /**
     * Follows redirects by hand, as a browser would, and the form a page submits by script on
     * loading (the provider ends one user's session that way before another signs in); stops at
     * the app's callback or at any other page.
     */
    const follow = async (jar: CookieJar, url: string, init: RequestInit = {}) => {
      let response = await request(jar, url, init);
      for (;;) {
        if (response.status >= 300 && response.status < 400) {
          const next = new URL(response.headers.get('location')!, url).href;
          if (next.startsWith(redirectUri())) return { url: next, response };
          url = next;
          response = await request(jar, url);
          continue;
        }
        const form = response.status === 200 ? autoSubmitted(await response.clone().text()) : undefined;
        if (!form) return { url, response };
        url = new URL(form.action, url).href;
        response = await request(jar, url, { method: 'POST', body: form.fields });
      }
    };

    const request = async (jar: CookieJar, url: string, init: RequestInit = {}) => {
      const headers = new Headers(init.headers);
      headers.set('cookie', jar.header());
      const response = await fetch(url, { ...init, headers, redirect: 'manual' });
      jar.take(response);
      return response;
    };

    const submit = (jar: CookieJar, formUrl: string, user: string) =>
      follow(jar, formUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ user }).toString(),
      });

    const exchange = async (callback: string, verifier: string, state: string) => {
      const tokens = await client.authorizationCodeGrant(config, new URL(callback), {
        pkceCodeVerifier: verifier,
        expectedState: state,
      });
      return { tokens, access: (await verify(tokens.access_token)).payload };
    };

    it('shows a development-only sign-in form, and signs in any valid user name', async () => {
      const jar = new CookieJar();
      const { verifier, state, landing } = await start(jar);
      expect(landing.response.status).to.equal(200);
      expect(new URL(landing.url).pathname).to.match(/^\/auth\/interaction\/[\w-]+$/);
      const page = await landing.response.text();
      expect(page).to.match(/development only/i);
      expect(page).to.include('<form method="post"');

      const done = await submit(jar, landing.url, 'alice');
      expect(done.url.startsWith(`${redirectUri()}?`)).to.equal(true);
      expect(new URL(done.url).searchParams.get('code')).to.be.a('string');

      const { tokens, access } = await exchange(done.url, verifier, state);
      expect(access).to.include({ sub: 'alice', aud: AUDIENCE, iss: issuer });
      expect(scopes(access)).to.deep.equal(['gozon:api']);
      expect(tokens.claims()?.sub).to.equal('alice');
    });

    it('answers 400 with the form again, escaped, for a name that is not a user id', async () => {
      const jar = new CookieJar();
      const { landing } = await start(jar);
      const refused = await submit(jar, landing.url, '<b>x y</b>');
      expect(refused.response.status).to.equal(400);
      const page = await refused.response.text();
      expect(page).to.include('not a valid user name');
      expect(page).to.include('&lt;b&gt;x y&lt;/b&gt;');
      expect(page).not.to.include('<b>x y</b>');
      expect(page).to.include('<form method="post"');

      const accepted = await submit(jar, landing.url, 'dave');
      expect(accepted.url.startsWith(`${redirectUri()}?`)).to.equal(true);
    });

    it('reuses the session, but shows the form again for prompt=login so another user can sign in', async () => {
      const jar = new CookieJar();
      const first = await start(jar);
      await submit(jar, first.landing.url, 'erin');

      const again = await start(jar);
      expect(again.landing.url.startsWith(`${redirectUri()}?`)).to.equal(true);
      expect((await exchange(again.landing.url, again.verifier, again.state)).access.sub).to.equal('erin');

      const other = await start(jar, { prompt: 'login' });
      expect(new URL(other.landing.url).pathname).to.match(/^\/auth\/interaction\//);
      const done = await submit(jar, other.landing.url, 'frank');
      expect((await exchange(done.url, other.verifier, other.state)).access.sub).to.equal('frank');
    });

    it('gives a client asking for openid alone a token for the API audience', async () => {
      const jar = new CookieJar();
      const { verifier, state, landing } = await start(jar, { scope: 'openid' });
      const done = await submit(jar, landing.url, 'gina');
      const { access } = await exchange(done.url, verifier, state);
      expect(access).to.include({ sub: 'gina', aud: AUDIENCE });
      expect(scopes(access)).not.to.include('gozon:admin');
    });

    it('refuses a redirect URI that is not registered', async () => {
      const jar = new CookieJar();
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: 'https://evil.example/callback',
        scope: 'openid',
        code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
        code_challenge_method: 'S256',
      });
      const { response } = await follow(jar, url.href);
      expect(response.status).to.equal(400);
      expect(response.headers.get('location')).to.equal(null);
    });
  });

  describe('gozon token', () => {
    const gozon = async (args: string[], env: Record<string, string> = {}) => {
      const vars: NodeJS.ProcessEnv = {
        ...process.env,
        GOZON_DATA_DIR: dataDir,
        GOZON_PUBLIC_URL: base,
        OIDC_AUDIENCE: AUDIENCE,
        ...env,
      };
      for (const name of ['OIDC_ISSUER', 'GOZON_AUTH', 'OIDC_JWKS_URL']) if (!(name in env)) delete vars[name];
      try {
        const { stdout, stderr } = await promisify(execFile)(process.execPath, [GOZON, ...args], { env: vars });
        return { code: 0, stdout, stderr };
      } catch (err) {
        const failed = err as { code: number; stdout: string; stderr: string };
        return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
      }
    };

    it('prints a token alone on stdout that verifies against the same data directory', async () => {
      const { code, stdout } = await gozon(['token', 'alice']);
      expect(code).to.equal(0);
      expect(stdout).to.match(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
      const { payload } = await verify(stdout.trim());
      expect(payload.sub).to.equal('alice');
      expect(scopes(payload)).not.to.include('gozon:admin');
    });

    it('adds gozon:admin with --admin', async () => {
      const { code, stdout } = await gozon(['token', 'root', '--admin']);
      expect(code).to.equal(0);
      expect(scopes((await verify(stdout.trim())).payload)).to.include('gozon:admin');
    });

    it('agrees on the keys with another process creating them at the same moment', async () => {
      const fresh = await mkdtemp(join(tmpdir(), 'gozon-race-'));
      try {
        const runs = await Promise.all([1, 2].map(() => gozon(['token', 'alice'], { GOZON_DATA_DIR: fresh })));
        expect(runs.map((r) => r.code)).to.deep.equal([0, 0]);
        const kid = (await loadOrCreateSecrets(join(fresh, 'auth'))).signingKeys[0]?.kid;
        expect(runs.map((r) => decodeProtectedHeader(r.stdout.trim()).kid)).to.deep.equal([kid, kid]);
      } finally {
        await rm(fresh, { recursive: true, force: true });
      }
    });

    it('exits 2 with a message for an invalid user id', async () => {
      const { code, stdout, stderr } = await gozon(['token', 'no spaces']);
      expect(code).to.equal(2);
      expect(stdout).to.equal('');
      expect(stderr).to.include('user_id must be');
    });

    it('exits 2 naming the external issuer when OIDC_ISSUER is set', async () => {
      const { code, stdout, stderr } = await gozon(['token', 'alice'], { OIDC_ISSUER: 'https://idp.example' });
      expect(code).to.equal(2);
      expect(stdout).to.equal('');
      expect(stderr).to.include('https://idp.example');
    });

    it('exits 2 saying no token is needed with GOZON_AUTH=none', async () => {
      const { code, stderr } = await gozon(['token', 'alice'], { GOZON_AUTH: 'none' });
      expect(code).to.equal(2);
      expect(stderr).to.include('GOZON_AUTH=none');
    });
  });
});

/** The form of a page that submits it by script as it loads, as a browser would send it. */
const autoSubmitted = (html: string): { action: string; fields: URLSearchParams } | undefined => {
  if (!html.includes('document.forms[0].submit()')) return undefined;
  const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1];
  if (!action) return undefined;
  const fields = new URLSearchParams();
  for (const [, name, value] of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"\/>/g)) {
    fields.append(name!, value!);
  }
  return { action, fields };
};

const scopes = (payload: JWTPayload): string[] =>
  typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : [];
