import { expect } from 'chai';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { UnsecuredJWT } from 'jose';
import { createGatewayApp, type GatewayExtras } from '../gateway/gateway-app.js';
import type { PendingLogin, RelyingParty } from './relying-party.js';
import { SESSION_PREFIX, sessionRoutes, sessionRoutesWithoutAuth } from './session.js';
import { MemorySessionStore, type Session, type SessionStore } from './session-store.js';
import { sessionToBearer } from './session-to-bearer.js';

const listen = async (server: Server): Promise<string> => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};
const close = (server: Server) => new Promise((resolve) => server.close(resolve));

/** A fixed store: the session ids the test names, nothing else. */
class FakeSessionStore implements SessionStore {
  readonly sessions = new Map<string, Session>();
  create(session: Session): string {
    const id = `id-${this.sessions.size + 1}`;
    this.sessions.set(id, session);
    return id;
  }
  get(id: string): Session | undefined {
    return this.sessions.get(id);
  }
  delete(id: string): void {
    this.sessions.delete(id);
  }
}

/** A provider that signs in whoever `user` names, with an unsigned token (the BFF does not verify it). */
class FakeRelyingParty implements RelyingParty {
  user = 'ada';
  expiresIn = 300;
  finished: { callback: string; pending: PendingLogin }[] = [];
  async begin() {
    const pending = { state: `state-${Math.random()}`, nonce: 'n', codeVerifier: 'v' };
    return { url: new URL(`https://id.example.org/authorize?state=${pending.state}`), pending };
  }
  async finish(callback: URL, pending: PendingLogin) {
    this.finished.push({ callback: callback.href, pending });
    const exp = Math.floor(Date.now() / 1000) + 3600;
    return { accessToken: new UnsecuredJWT({ sub: this.user, exp }).encode(), expiresIn: this.expiresIn };
  }
}

/** A gateway in front of one upstream that records what reached it. */
const gatewayWith = async (extras: GatewayExtras) => {
  const seen: { method: string; url: string; headers: IncomingHttpHeaders }[] = [];
  const upstream = createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    res.setHeader('content-type', 'application/json');
    res.end('{}');
  });
  const target = await listen(upstream);
  const { app, agent } = createGatewayApp(
    { ordersUrl: target, paymentsUrl: target, webUrl: target },
    undefined,
    30_000,
    extras,
  );
  const server = createServer(app.callback());
  const base = await listen(server);
  const stop = async () => {
    agent.destroy();
    await Promise.all([close(server), close(upstream)]);
  };
  return { base, seen, stop };
};

const aSession = (over: Partial<Session> = {}): Session => ({
  userId: 'ada',
  accessToken: 'header.payload.signature',
  expiresAt: new Date(Date.now() + 60_000),
  csrfToken: 'csrf-of-ada',
  ...over,
});

describe('the backend-for-frontend session: sessionToBearer before the API', () => {
  const store = new FakeSessionStore();
  let gateway: Awaited<ReturnType<typeof gatewayWith>>;
  before(async () => {
    store.sessions.set('live', aSession());
    gateway = await gatewayWith({ api: [sessionToBearer(store)] });
  });
  after(() => gateway.stop());
  beforeEach(() => (gateway.seen.length = 0));

  const send = (path: string, init: RequestInit = {}) => fetch(`${gateway.base}${path}`, init);

  it('refuses a write with the session cookie and no or a wrong X-CSRF-Token: 403, nothing proxied', async () => {
    for (const csrf of [undefined, '', 'csrf-of-someone-else']) {
      const headers: Record<string, string> = { cookie: 'gozon_session=live', 'content-type': 'application/json' };
      if (csrf !== undefined) headers['x-csrf-token'] = csrf;
      const response = await send('/orders', { method: 'POST', headers, body: '{"amount":1}' });
      expect(response.status, String(csrf)).to.equal(403);
      expect(await response.json()).to.have.nested.property('error.code', 'forbidden');
    }
    const deposit = await send('/payments/accounts/deposit', {
      method: 'POST',
      headers: { cookie: 'gozon_session=live' },
    });
    expect(deposit.status).to.equal(403);
    expect(gateway.seen).to.deep.equal([]);
  });

  it('passes a write with the right X-CSRF-Token, as the bearer token, without the cookie', async () => {
    const headers = { cookie: 'theme=dark; gozon_session=live', 'x-csrf-token': 'csrf-of-ada' };
    expect((await send('/orders', { method: 'POST', headers, body: '{}' })).status).to.equal(200);
    const [reached] = gateway.seen;
    expect(reached?.headers.authorization).to.equal('Bearer header.payload.signature');
    expect(reached?.headers).to.not.have.property('cookie');
  });

  it('passes a GET with the cookie alone, as the bearer token, without the cookie', async () => {
    expect((await send('/orders?limit=5', { headers: { cookie: 'gozon_session=live' } })).status).to.equal(200);
    expect(
      (await send('/payments/accounts/ada/balance', { headers: { cookie: 'gozon_session=live' } })).status,
    ).to.equal(200);
    expect(gateway.seen.map((s) => [s.url, s.headers.authorization, s.headers.cookie])).to.deep.equal([
      ['/orders?limit=5', 'Bearer header.payload.signature', undefined],
      ['/payments/accounts/ada/balance', 'Bearer header.payload.signature', undefined],
    ]);
  });

  it('leaves an unknown session unchanged (no Authorization, for the token check to refuse), cookie removed', async () => {
    const response = await send('/orders', { method: 'POST', headers: { cookie: 'gozon_session=gone' }, body: '{}' });
    expect(response.status).to.equal(200);
    expect(gateway.seen).to.have.length(1);
    expect(gateway.seen[0]?.headers).to.not.have.property('authorization');
    expect(gateway.seen[0]?.headers).to.not.have.property('cookie');
  });

  it('leaves a request with its own Authorization to it, with no CSRF check; cookie removed', async () => {
    const headers = { authorization: 'Bearer its-own', cookie: 'gozon_session=live' };
    expect((await send('/orders', { method: 'POST', headers, body: '{}' })).status).to.equal(200);
    expect(gateway.seen[0]?.headers.authorization).to.equal('Bearer its-own');
    expect(gateway.seen[0]?.headers).to.not.have.property('cookie');
  });

  it('does not touch the web page’s requests', async () => {
    expect((await send('/index.html', { headers: { cookie: 'gozon_session=live' } })).status).to.equal(200);
    expect(gateway.seen[0]?.headers.cookie).to.equal('gozon_session=live');
    expect(gateway.seen[0]?.headers).to.not.have.property('authorization');
  });
});

/** The `Set-Cookie` of `name` in `response`, as attributes. */
const cookieOf = (response: Response, name: string) => {
  const line = response.headers.getSetCookie().find((c) => c.startsWith(`${name}=`));
  if (!line) return undefined;
  const [pair, ...attributes] = line.split('; ');
  return { value: pair!.slice(name.length + 1), attributes };
};

/** Signs in through `/session/login` and the provider's way back, as a browser would. */
const signIn = async (base: string) => {
  const login = await fetch(`${base}/session/login`, { redirect: 'manual' });
  const state = new URL(login.headers.get('location')!).searchParams.get('state')!;
  const loginCookie = cookieOf(login, 'gozon_login')!;
  const callback = await fetch(`${base}/session/callback?code=abc&state=${state}`, {
    redirect: 'manual',
    headers: { cookie: `gozon_login=${loginCookie.value}` },
  });
  return { login, loginCookie, callback, session: cookieOf(callback, 'gozon_session') };
};

describe('the backend-for-frontend session: sign-in, who is signed in, sign-out', () => {
  const start = async (publicUrl: string, relyingParty: RelyingParty | null = new FakeRelyingParty()) => {
    const store = new MemorySessionStore();
    const handle = sessionRoutes({
      store,
      relyingParty: relyingParty ?? undefined,
      redirectUri: `${publicUrl}/session/callback`,
      userClaim: 'sub',
      secure: publicUrl.startsWith('https:'),
    });
    const gateway = await gatewayWith({ own: [{ prefix: SESSION_PREFIX, handle }], api: [sessionToBearer(store)] });
    return { ...gateway, store };
  };
  let gateway: Awaited<ReturnType<typeof start>> | undefined;
  afterEach(async () => {
    await gateway?.stop();
    gateway = undefined;
  });

  it('sends the browser to the provider and back: a session cookie HttpOnly, SameSite=Lax, not Secure on http', async () => {
    const provider = new FakeRelyingParty();
    gateway = await start('http://localhost:8080', provider);
    const { login, loginCookie, callback, session } = await signIn(gateway.base);
    expect(login.status).to.equal(302);
    expect(loginCookie.attributes).to.include.members(['Path=/session', 'Max-Age=600', 'HttpOnly', 'SameSite=Lax']);
    expect(callback.status).to.equal(302);
    expect(callback.headers.get('location')).to.equal('/');
    expect(provider.finished[0]?.callback).to.match(/^http:\/\/localhost:8080\/session\/callback\?code=abc&state=/);
    expect(session?.value).to.match(/^[A-Za-z0-9_-]{43}$/);
    expect(session?.attributes).to.include.members(['Path=/', 'HttpOnly', 'SameSite=Lax']);
    expect(session?.attributes).to.not.include('Secure');
    const maxAge = Number(session?.attributes.find((a) => a.startsWith('Max-Age='))?.slice(8));
    expect(maxAge).to.be.within(298, 300);
    expect(cookieOf(callback, 'gozon_login')?.attributes).to.include('Max-Age=0');
  });

  it('marks the cookies Secure when the public URL is https', async () => {
    gateway = await start('https://shop.example.org');
    const { loginCookie, session } = await signIn(gateway.base);
    expect(loginCookie.attributes).to.include('Secure');
    expect(session?.attributes).to.include.members(['HttpOnly', 'SameSite=Lax', 'Secure']);
  });

  it('tells who is signed in, with the CSRF token; 401 with WWW-Authenticate: Bearer when nobody is', async () => {
    gateway = await start('http://localhost:8080');
    const { session } = await signIn(gateway.base);
    const me = await fetch(`${gateway.base}/session`, { headers: { cookie: `gozon_session=${session!.value}` } });
    expect(me.status).to.equal(200);
    expect(me.headers.get('cache-control')).to.equal('no-store');
    const body = (await me.json()) as Record<string, string>;
    expect(body).to.have.keys(['user_id', 'csrf_token', 'expires_at']);
    expect(body.user_id).to.equal('ada');
    expect(body.csrf_token).to.match(/^[A-Za-z0-9_-]{43}$/);
    const nobody = await fetch(`${gateway.base}/session`, { headers: { cookie: 'gozon_session=unknown' } });
    expect(nobody.status).to.equal(401);
    expect(nobody.headers.get('www-authenticate')).to.match(/^Bearer\b/);
    expect(await nobody.json()).to.have.nested.property('error.code', 'unauthorized');
  });

  it('refuses a way back with a state this browser did not start, and a provider error, in words', async () => {
    gateway = await start('http://localhost:8080');
    const login = await fetch(`${gateway.base}/session/login`, { redirect: 'manual' });
    const state = new URL(login.headers.get('location')!).searchParams.get('state')!;
    const noCookie = await fetch(`${gateway.base}/session/callback?code=abc&state=${state}`, { redirect: 'manual' });
    expect(noCookie.status).to.equal(400);
    expect(await noCookie.text()).to.match(/not started from this browser/);
    const denied = await fetch(`${gateway.base}/session/callback?error=access_denied&state=x`, { redirect: 'manual' });
    expect(denied.status).to.equal(400);
    expect(await denied.text()).to.match(/not completed \(access_denied\)/);
    expect(cookieOf(denied, 'gozon_session')).to.equal(undefined);
  });

  it('answers 503 at /session/login when no client is configured', async () => {
    gateway = await start('http://localhost:8080', null);
    const login = await fetch(`${gateway.base}/session/login`, { redirect: 'manual' });
    expect(login.status).to.equal(503);
    expect(await login.text()).to.match(/not set up on this server/);
  });

  it('signs out only with the CSRF header; then the old cookie is worth nothing', async () => {
    gateway = await start('http://localhost:8080');
    const { session } = await signIn(gateway.base);
    const cookie = `gozon_session=${session!.value}`;
    const me = (await (await fetch(`${gateway.base}/session`, { headers: { cookie } })).json()) as {
      csrf_token: string;
    };
    const forged = await fetch(`${gateway.base}/session/logout`, { method: 'POST', headers: { cookie } });
    expect(forged.status).to.equal(403);
    expect((await fetch(`${gateway.base}/session`, { headers: { cookie } })).status).to.equal(200);

    const out = await fetch(`${gateway.base}/session/logout`, {
      method: 'POST',
      headers: { cookie, 'x-csrf-token': me.csrf_token },
    });
    expect(out.status).to.equal(204);
    expect(cookieOf(out, 'gozon_session')?.attributes).to.include('Max-Age=0');
    expect((await fetch(`${gateway.base}/session`, { headers: { cookie } })).status).to.equal(401);
    await fetch(`${gateway.base}/orders`, { headers: { cookie } });
    expect(gateway.seen.at(-1)?.headers).to.not.have.property('authorization');
  });

  it('says {"auth":"none"} at GET /session when identity is off', async () => {
    gateway = {
      ...(await gatewayWith({ own: [{ prefix: SESSION_PREFIX, handle: sessionRoutesWithoutAuth() }] })),
      store: new MemorySessionStore(),
    };
    const response = await fetch(`${gateway.base}/session`);
    expect(response.status).to.equal(200);
    expect(await response.json()).to.deep.equal({ auth: 'none' });
    expect((await fetch(`${gateway.base}/session/login`)).status).to.equal(404);
  });
});

describe('the backend-for-frontend session: the in-memory store', () => {
  it('forgets expired sessions and keeps at most its capacity, the oldest going first', () => {
    let now = 1_000_000;
    const store = new MemorySessionStore(2, () => now);
    const first = store.create(aSession({ expiresAt: new Date(now + 1000) }));
    const second = store.create(aSession({ userId: 'bob', expiresAt: new Date(now + 5000) }));
    const third = store.create(aSession({ userId: 'cy', expiresAt: new Date(now + 5000) }));
    expect(store.get(first)).to.equal(undefined);
    expect(store.get(second)?.userId).to.equal('bob');
    now += 5000;
    expect(store.get(third)).to.equal(undefined);
    expect(new Set([first, second, third]).size).to.equal(3);
  });
});
