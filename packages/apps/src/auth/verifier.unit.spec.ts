import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import Koa from 'koa';
import { SignJWT, UnsecuredJWT } from 'jose';
import { authenticate, callerOf } from './bearer.js';
import { signingKey, TestIssuer } from './test-issuer.spec.helper.js';
import { TokenVerifier, type VerifierOptions } from './verifier.js';

/** A tiny app behind the token check, answering with the caller it proved. */
const guarded = async (verifier: TokenVerifier): Promise<{ url: string; server: Server }> => {
  const app = new Koa();
  app.use(authenticate(verifier));
  app.use((ctx) => {
    ctx.body = { caller: callerOf(ctx) };
  });
  const server = createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
};

describe('identity: access tokens verified with jose', function () {
  this.timeout(20_000);
  let issuer: TestIssuer;
  let verifier: TokenVerifier;
  let app: { url: string; server: Server };
  const options = (extra: Partial<VerifierOptions> = {}): VerifierOptions => ({
    issuer: issuer.issuer,
    audience: 'gozon',
    userClaim: 'sub',
    ...extra,
  });
  const call = (authorization?: string) =>
    fetch(app.url, { headers: authorization === undefined ? {} : { authorization } });

  before(async () => {
    issuer = await TestIssuer.start();
    verifier = new TokenVerifier(options());
    app = await guarded(verifier);
  });
  after(async () => {
    app.server.close();
    await issuer.close();
  });

  /** Expects a 401 in the contract's shape with the Bearer challenge, echoing nothing of the token. */
  const refused = async (authorization: string | undefined, secret = 'alice-the-owner'): Promise<void> => {
    const res = await call(authorization);
    const text = await res.text();
    expect(res.status, text).to.equal(401);
    expect(res.headers.get('www-authenticate')).to.match(/^Bearer realm="gozon"/);
    const body = JSON.parse(text) as { error: { code: string; message: string } };
    expect(Object.keys(body)).to.deep.equal(['error']);
    expect(body.error.code).to.equal('unauthorized');
    expect(text).to.not.contain(secret);
  };

  it('accepts a valid token and names its user; gozon:admin in scope makes an administrator', async () => {
    const plain = await call(`Bearer ${await issuer.sign({ sub: 'alice', scope: 'openid' })}`);
    expect(await plain.json()).to.deep.equal({ caller: { userId: 'alice', admin: false } });
    const admin = await call(`Bearer ${await issuer.sign({ sub: 'support', scope: 'openid gozon:admin' })}`);
    expect(await admin.json()).to.deep.equal({ caller: { userId: 'support', admin: true } });
  });

  it('refuses a request without a token, or with an Authorization header that is not Bearer', async () => {
    const res = await call();
    expect(res.headers.get('www-authenticate')).to.equal('Bearer realm="gozon"');
    await refused(undefined);
    await refused('Basic YWxpY2U6c2VjcmV0');
    await refused('Bearer');
    await refused('Bearer not a token');
    await refused('Bearer not-a-jwt');
  });

  it('refuses expired and not-yet-valid tokens beyond 60 s of skew, and accepts them within it', async () => {
    const now = Math.floor(Date.now() / 1000);
    await refused(`Bearer ${await issuer.sign({ sub: 'alice-the-owner', exp: now - 120 })}`);
    await refused(`Bearer ${await issuer.sign({ sub: 'alice-the-owner', nbf: now + 120 })}`);
    expect((await call(`Bearer ${await issuer.sign({ sub: 'alice', exp: now - 30 })}`)).status).to.equal(200);
    expect((await call(`Bearer ${await issuer.sign({ sub: 'alice', nbf: now + 30 })}`)).status).to.equal(200);
    await refused(`Bearer ${await issuer.sign({ sub: 'alice-the-owner', exp: undefined })}`);
  });

  it('refuses another issuer and another audience', async () => {
    await refused(`Bearer ${await issuer.sign({ sub: 'alice-the-owner', iss: 'https://evil.example' })}`);
    await refused(`Bearer ${await issuer.sign({ sub: 'alice-the-owner', aud: 'someone-else' })}`);
  });

  it('refuses alg none, and HS256 signed with the public key as the secret', async () => {
    const now = Math.floor(Date.now() / 1000);
    const claims = { sub: 'alice-the-owner', iss: issuer.issuer, aud: 'gozon', exp: now + 600 };
    await refused(`Bearer ${new UnsecuredJWT(claims).encode()}`);
    const publicKey = new TextEncoder().encode(JSON.stringify(issuer.keys[0]!.publicJwk));
    const hs = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: 'key-1' }).sign(publicKey);
    await refused(`Bearer ${hs}`);
  });

  it('refuses a token signed by a key the issuer does not publish, and a tampered one', async () => {
    const stranger = await signingKey('key-1');
    await refused(`Bearer ${await issuer.sign({ sub: 'alice-the-owner' }, stranger)}`);
    const unknownKid = await signingKey('never-published');
    await refused(`Bearer ${await issuer.sign({ sub: 'alice-the-owner' }, unknownKid)}`);
    const [header, , signature] = (await issuer.sign({ sub: 'bob' })).split('.');
    const forged = Buffer.from(JSON.stringify({ sub: 'alice-the-owner', iss: issuer.issuer, aud: 'gozon', exp: 9e9 }));
    await refused(`Bearer ${header}.${forged.toString('base64url')}.${signature}`);
  });

  it('refuses a user claim that is not a valid user id, or is missing', async () => {
    await refused(`Bearer ${await issuer.sign({ sub: 'alice the owner' })}`, 'alice the owner');
    await refused(`Bearer ${await issuer.sign({ sub: '../../etc' })}`, '../../etc');
    await refused(`Bearer ${await issuer.sign({ sub: 'x'.repeat(65) })}`, 'x'.repeat(65));
    await refused(`Bearer ${await issuer.sign({})}`);
  });

  it('takes the user from OIDC_USER_CLAIM when configured', async () => {
    const byEmail = new TokenVerifier(options({ userClaim: 'email' }));
    const token = await issuer.sign({ sub: 'f3c1-opaque', email: 'alice@example.com' });
    expect(await byEmail.verify(token)).to.deep.equal({ userId: 'alice@example.com', admin: false });
  });

  it('picks up a key rotated in at the issuer without a restart (fetching the JWKS again on an unknown kid)', async () => {
    const rotating = await TestIssuer.start();
    try {
      const local = new TokenVerifier({ ...options(), issuer: rotating.issuer, cooldownMs: 50 });
      expect(await local.verify(await rotating.sign({ sub: 'alice' }))).to.have.property('userId', 'alice');
      const fetches = rotating.jwksFetches;
      const next = await signingKey('key-2');
      rotating.keys = [next];
      await new Promise((resolve) => setTimeout(resolve, 80));
      expect(await local.verify(await rotating.sign({ sub: 'bob' }, next))).to.have.property('userId', 'bob');
      expect(rotating.jwksFetches).to.equal(fetches + 1);
      // Keys stay cached: verifying again fetches nothing.
      await local.verify(await rotating.sign({ sub: 'carol' }, next));
      expect(rotating.jwksFetches).to.equal(fetches + 1);
    } finally {
      await rotating.close();
    }
  });

  it('answers 503 while the issuer is unreachable, and verifies once it is back, without a restart', async () => {
    const first = await TestIssuer.start();
    const port = first.port;
    const key = first.keys[0]!;
    await first.close();
    const waiting = new TokenVerifier({ ...options(), issuer: first.issuer, timeoutMs: 1_000 });
    const guard = await guarded(waiting);
    try {
      const token = await first.sign({ sub: 'alice' }, key);
      const res = await fetch(guard.url, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).to.equal(503);
      expect(res.headers.get('retry-after')).to.equal('2');
      expect(((await res.json()) as { error: { code: string } }).error.code).to.equal('auth_unavailable');
      // The issuer comes back on the same address, with the same key.
      const back = await TestIssuer.start(port);
      back.keys = [key];
      try {
        const again = await fetch(guard.url, { headers: { authorization: `Bearer ${token}` } });
        expect(again.status).to.equal(200);
      } finally {
        await back.close();
      }
    } finally {
      guard.server.close();
    }
  });

  it('refuses keys from a discovery document that names another issuer (503: nothing to verify with)', async () => {
    const liar = await TestIssuer.start();
    liar.advertised = 'https://evil.example';
    try {
      const guard = await guarded(new TokenVerifier({ ...options(), issuer: liar.issuer, timeoutMs: 1_000 }));
      const res = await fetch(guard.url, { headers: { authorization: `Bearer ${await liar.sign({ sub: 'a' })}` } });
      expect(res.status).to.equal(503);
      expect(liar.jwksFetches).to.equal(0);
      guard.server.close();
    } finally {
      await liar.close();
    }
  });
});
