import { expect } from 'chai';
import { startInMemoryApis, type InMemoryApis } from './in-memory-apis.spec.helper.js';

describe('orders and payments HTTP API (in-memory use cases)', () => {
  let apis: InMemoryApis;
  let orders = '';
  let payments = '';
  const logged: unknown[] = [];

  before(async () => {
    apis = await startInMemoryApis((err) => logged.push(err));
    ({ orders, payments } = apis);
  });

  after(() => apis.stop());

  const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  const expectError = async (res: Response, status: number, code: string, mentions?: string) => {
    expect(res.status, await res.clone().text()).to.equal(status);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(Object.keys(body)).to.deep.equal(['error']);
    expect(body.error.code).to.equal(code);
    expect(body.error.message)
      .to.be.a('string')
      .and.not.match(/at .*\.js|SELECT|postgres:\/\//);
    if (mentions) expect(body.error.message).to.contain(mentions);
  };

  it('runs the seed scenario: account, deposit 2000, order 1500 → FINISHED, balance 500', async () => {
    const user = `seed-${Date.now()}`;
    const created = await post(`${payments}/payments/accounts`, { user_id: user });
    expect(created.status).to.equal(201);
    expect(await created.json()).to.deep.equal({ user_id: user, balance: 0 });
    const deposited = await post(`${payments}/payments/accounts/deposit`, { user_id: user, amount: 2000 });
    expect(await deposited.json()).to.deep.equal({ user_id: user, balance: 2000 });
    const placed = await post(`${orders}/orders`, { user_id: user, amount: 1500, description: 'book' });
    expect(placed.status).to.equal(201);
    const order = (await placed.json()) as Record<string, unknown>;
    expect(order).to.include({ user_id: user, amount: 1500, description: 'book', status: 'NEW' });
    expect(Object.keys(order).sort()).to.deep.equal(
      ['amount', 'created_at', 'description', 'id', 'status', 'updated_at', 'user_id'].sort(),
    );
    await apis.system.settle();
    const final = (await (await fetch(`${orders}/orders/${String(order['id'])}`)).json()) as Record<string, unknown>;
    expect(final['status']).to.equal('FINISHED');
    const balance = await fetch(`${payments}/payments/accounts/${user}/balance`);
    expect(await balance.json()).to.deep.equal({ user_id: user, balance: 500 });
    const list = (await (await fetch(`${orders}/orders?user_id=${user}`)).json()) as unknown[];
    expect(list).to.have.length(1);
  });

  it('answers every contract error in the error shape', async () => {
    await expectError(await post(`${orders}/orders`, '{"user_id":'), 400, 'malformed_json');
    await expectError(await post(`${orders}/orders`, { amount: 5 }), 400, 'missing_field', 'user_id');
    await expectError(await post(`${orders}/orders`, { user_id: 'u', amount: 1.5 }), 400, 'invalid_field', 'amount');
    await expectError(await post(`${orders}/orders`, { user_id: 'u', amount: '5' }), 400, 'invalid_field', 'amount');
    await expectError(await post(`${orders}/orders`, { user_id: 'u', amount: 0 }), 400, 'invalid_field', 'amount');
    await expectError(
      await post(`${orders}/orders`, { user_id: 'u', amount: 1e12 + 1 }),
      400,
      'invalid_field',
      'amount',
    );
    await expectError(
      await post(`${orders}/orders`, { user_id: 'bad user', amount: 5 }),
      400,
      'invalid_field',
      'user_id',
    );
    await expectError(
      await post(`${orders}/orders`, { user_id: 'u', amount: 5, description: 'x'.repeat(501) }),
      400,
      'invalid_field',
      'description',
    );
    await expectError(await post(`${orders}/orders`, [1, 2]), 400, 'invalid_body');
    await expectError(await fetch(`${orders}/orders`), 400, 'missing_field', 'user_id');
    await expectError(await fetch(`${orders}/orders/${globalThis.crypto.randomUUID()}`), 404, 'order_not_found');
    await expectError(await fetch(`${orders}/orders/not-a-uuid`), 404, 'order_not_found');
    await expectError(
      await fetch(`${payments}/payments/accounts/nobody-${Date.now()}/balance`),
      404,
      'account_not_found',
    );
    await expectError(
      await post(`${payments}/payments/accounts/deposit`, { user_id: `nobody-${Date.now()}`, amount: 5 }),
      404,
      'account_not_found',
    );
    const user = `dup-${Date.now()}`;
    await post(`${payments}/payments/accounts`, { user_id: user });
    await expectError(await post(`${payments}/payments/accounts`, { user_id: user }), 409, 'account_exists');
    await expectError(await post(`${orders}/orders`, 'x'.repeat(70_000)), 413, 'payload_too_large');
    await expectError(
      await fetch(`${orders}/orders`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hi' }),
      415,
      'unsupported_media_type',
    );
    await expectError(await fetch(`${orders}/nowhere`), 404, 'not_found');
    expect(logged).to.deep.equal([]);
  });

  it('honours Idempotency-Key: same body → first answer, once; different body → 422', async () => {
    const user = `idem-${Date.now()}`;
    await post(`${payments}/payments/accounts`, { user_id: user });
    const headers = { 'idempotency-key': `k-${Date.now()}` };
    const first = await post(`${payments}/payments/accounts/deposit`, { user_id: user, amount: 100 }, headers);
    const again = await post(`${payments}/payments/accounts/deposit`, { user_id: user, amount: 100 }, headers);
    expect(first.status).to.equal(200);
    expect(again.status).to.equal(200);
    expect(await again.json()).to.deep.equal(await first.json());
    await expectError(
      await post(`${payments}/payments/accounts/deposit`, { user_id: user, amount: 101 }, headers),
      422,
      'idempotency_key_reused',
    );
    const balance = (await (await fetch(`${payments}/payments/accounts/${user}/balance`)).json()) as {
      balance: number;
    };
    expect(balance.balance).to.equal(100);
    const o1 = await post(`${orders}/orders`, { user_id: user, amount: 10 }, headers);
    const o2 = await post(`${orders}/orders`, { user_id: user, amount: 10 }, headers);
    expect(o2.status).to.equal(201);
    expect(await o2.json()).to.deep.equal(await o1.json());
  });
});
