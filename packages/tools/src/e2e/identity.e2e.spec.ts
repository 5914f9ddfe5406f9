import { expect } from 'chai';
import { GozonClient, type Order } from './client.js';
import { ServerSystem } from './system.js';

const unique = (name: string): string => `${name}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;

describe('identity through the gateway, on Postgres + RabbitMQ: each user acts only on what is theirs', function () {
  this.timeout(120_000);
  let system: ServerSystem;
  let anonymous: GozonClient;
  let admin: GozonClient;

  before(async () => {
    system = await ServerSystem.start();
    anonymous = new GozonClient(system.gatewayUrl);
    admin = await system.client();
  });
  after(async () => {
    await system?.stop();
  });

  /** A signed-in user with an account holding `amount`, opened and funded by themselves. */
  const signedIn = async (name: string, amount: number): Promise<{ id: string; api: GozonClient }> => {
    const id = unique(name);
    const api = await system.client(id);
    expect(await api.json(api.post('/payments/accounts', {}), 201)).to.deep.equal({ user_id: id, balance: 0 });
    if (amount > 0) await api.json(api.post('/payments/accounts/deposit', { amount }), 200);
    return { id, api };
  };

  const everyOperation = (user: string, orderId: string): [string, (api: GozonClient) => Promise<Response>][] => [
    ['POST /orders', (api) => api.post('/orders', { user_id: user, amount: 1 })],
    ['GET /orders', (api) => api.get(`/orders?user_id=${user}`)],
    ['GET /orders/{id}', (api) => api.get(`/orders/${orderId}`)],
    ['POST /payments/accounts', (api) => api.post('/payments/accounts', { user_id: user })],
    ['POST /payments/accounts/deposit', (api) => api.post('/payments/accounts/deposit', { user_id: user, amount: 1 })],
    ['GET /payments/accounts/{user_id}/balance', (api) => api.get(`/payments/accounts/${user}/balance`)],
  ];

  it('answers 401 with a Bearer challenge on every operation without a token, or with a bad one, and changes nothing', async () => {
    const b = await signedIn('bob', 1000);
    const order = await b.api.json<Order>(b.api.post('/orders', { amount: 100 }), 201);
    const forged = (await system.token(b.id)).replace(/\.[^.]+$/, '.AAAA');
    for (const [name, call] of everyOperation(b.id, order.id)) {
      for (const api of [anonymous, anonymous.as(forged), anonymous.as('not-a-jwt')]) {
        const res = await call(api);
        expect(res.status, `${name} with ${api.token ?? 'no token'}`).to.equal(401);
        expect(res.headers.get('www-authenticate')).to.match(/^Bearer /);
        await anonymous.expectError(res, 401, 'unauthorized');
      }
    }
    await b.api.final([order.id]);
    expect(await b.api.balance(b.id)).to.equal(900);
    expect(await b.api.json<Order[]>(b.api.get('/orders'), 200)).to.have.length(1);
  });

  it("refuses A anything of B's: 403 naming B, 404 for B's order by id; B's balance and orders unchanged", async () => {
    const [a, b] = [await signedIn('alice', 1000), await signedIn('bob', 1000)];
    const bobsOrder = await b.api.json<Order>(b.api.post('/orders', { amount: 100 }), 201);
    await b.api.final([bobsOrder.id]);
    for (const [name, call] of everyOperation(b.id, bobsOrder.id)) {
      const res = await call(a.api);
      const expected = name === 'GET /orders/{id}' ? [404, 'order_not_found'] : [403, 'forbidden'];
      await a.api.expectError(res, expected[0] as number, expected[1] as string);
    }
    expect(await b.api.balance(b.id)).to.equal(900);
    expect((await b.api.json<Order[]>(b.api.get('/orders'), 200)).map((o) => o.id)).to.deep.equal([bobsOrder.id]);
    expect(await a.api.json<Order[]>(a.api.get('/orders'), 200)).to.deep.equal([]);
    expect(await a.api.balance(a.id)).to.equal(1000);
  });

  it('lets a user act without naming themselves, or naming themselves, and pays from their own account', async () => {
    const a = await signedIn('alice', 1000);
    const left = await a.api.json<Order>(a.api.post('/orders', { amount: 300, description: 'mine' }), 201);
    const named = await a.api.json<Order>(a.api.post('/orders', { user_id: a.id, amount: 200 }), 201);
    expect([left.user_id, named.user_id]).to.deep.equal([a.id, a.id]);
    await a.api.final([left.id, named.id]);
    expect(await a.api.balance(a.id)).to.equal(500);
    expect((await a.api.json<Order[]>(a.api.get(`/orders?user_id=${a.id}`), 200)).length).to.equal(2);
  });

  it('lets an administrator (scope gozon:admin) act for any user', async () => {
    const b = await signedIn('bob', 0);
    await admin.json(admin.post('/payments/accounts/deposit', { user_id: b.id, amount: 700 }), 200);
    const order = await admin.json<Order>(admin.post('/orders', { user_id: b.id, amount: 200 }), 201);
    expect(order.user_id).to.equal(b.id);
    expect((await admin.final([order.id]))[0]?.status).to.equal('FINISHED');
    expect(await admin.balance(b.id)).to.equal(500);
    expect(await admin.json<Order[]>(admin.get(`/orders?user_id=${b.id}`), 200)).to.have.length(1);
  });

  it('keeps Idempotency-Keys apart per user: the same key used by A and B makes two orders', async () => {
    const [a, b] = [await signedIn('alice', 1000), await signedIn('bob', 1000)];
    const key = { 'idempotency-key': `shared-${Date.now()}` };
    const first = await a.api.json<Order>(a.api.post('/orders', { amount: 100 }, key), 201);
    const second = await b.api.json<Order>(b.api.post('/orders', { amount: 100 }, key), 201);
    expect(second.id).to.not.equal(first.id);
    expect(second.user_id).to.equal(b.id);
    // A's retry still gets A's first answer.
    expect(await a.api.json<Order>(a.api.post('/orders', { amount: 100 }, key), 201)).to.deep.equal(first);
    await a.api.final([first.id]);
    await b.api.final([second.id]);
    expect([await a.api.balance(a.id), await b.api.balance(b.id)]).to.deep.equal([900, 900]);
  });

  it('has the services refuse a request that bypasses the gateway without a valid token', async () => {
    const { orders, payments } = system.serviceUrls;
    const b = await signedIn('bob', 100);
    for (const url of [`${orders}/orders?user_id=${b.id}`, `${payments}/payments/accounts/${b.id}/balance`]) {
      const res = await fetch(url);
      expect(res.status, url).to.equal(401);
      expect(res.headers.get('www-authenticate')).to.match(/^Bearer /);
      const withHeader = await fetch(url, { headers: { 'x-user-id': b.id, authorization: 'Bearer forged' } });
      expect(withHeader.status, url).to.equal(401);
      const signed = await fetch(url, { headers: { authorization: `Bearer ${b.api.token!}` } });
      expect(signed.status, url).to.equal(200);
    }
    const deposit = await fetch(`${payments}/payments/accounts/deposit`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user_id: b.id, amount: 1_000_000 }),
    });
    expect(deposit.status).to.equal(401);
    expect(await b.api.balance(b.id)).to.equal(100);
  });
});

describe('GOZON_AUTH=none: the open behaviour for a trusted network, said loudly', function () {
  this.timeout(120_000);
  let system: ServerSystem;
  let api: GozonClient;

  before(async () => {
    system = await ServerSystem.start({ env: { GOZON_AUTH: 'none' } });
    api = new GozonClient(system.gatewayUrl);
  });
  after(async () => {
    await system?.stop();
  });

  it('warns at start from every process, and requires user_id where the original system did', async () => {
    // Log lines leave in batches, within 100 ms: a process may answer before its warning is out.
    for (const part of Object.values(system.parts)) {
      expect(await part.outputMatching(/GOZON_AUTH=none: no identity/), part.part).to.match(
        /GOZON_AUTH=none: no identity/,
      );
    }
    await api.expectError(api.post('/payments/accounts', {}), 400, 'missing_field', 'user_id');
    await api.expectError(api.get('/orders'), 400, 'missing_field', 'user_id');
    await api.expectError(api.post('/orders', { amount: 5 }), 400, 'missing_field', 'user_id');
    const user = await api.fundedUser(1000);
    const order = await api.order(user, 400);
    expect((await api.final([order.id]))[0]?.status).to.equal('FINISHED');
    expect(await api.balance(user)).to.equal(600);
  });
});
