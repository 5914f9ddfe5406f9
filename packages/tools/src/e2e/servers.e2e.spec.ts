import { expect } from 'chai';
import { request } from 'node:http';
import type { GozonClient, Order } from './client.js';
import { GozonProcess } from './processes.js';
import { ServerSystem } from './system.js';

describe('GoZon on Postgres + RabbitMQ, separate processes, through the gateway', function () {
  this.timeout(120_000);
  let system: ServerSystem;
  let api: GozonClient;
  before(async () => {
    system = await ServerSystem.start();
    api = await system.client();
  });
  after(async () => {
    await system?.stop();
  });

  it('pays the seed order: account, deposit 2000, order 1500 → FINISHED, balance 500', async () => {
    const user = await api.fundedUser(2000);
    const order = await api.order(user, 1500);
    expect(order.status).to.equal('NEW');
    const [final] = await api.final([order.id]);
    expect(final?.status).to.equal('FINISHED');
    expect(final).to.not.have.property('failure_reason');
    expect(await api.balance(user)).to.equal(500);
    const listed = await api.json<{ id: string }[]>(api.get(`/orders?user_id=${user}`), 200);
    expect(listed.map((o) => o.id)).to.deep.equal([order.id]);
  });

  it('cancels an order over the balance with insufficient_funds, and one with no account with account_not_found', async () => {
    const user = await api.fundedUser(100);
    const over = await api.order(user, 101);
    const stranger = await api.order(`nobody-${Date.now()}`, 5);
    const [overFinal, strangerFinal] = await api.final([over.id, stranger.id]);
    expect(overFinal).to.include({ status: 'CANCELLED', failure_reason: 'insufficient_funds' });
    expect(strangerFinal).to.include({ status: 'CANCELLED', failure_reason: 'account_not_found' });
    expect(await api.balance(user)).to.equal(100);
  });

  it('lists orders newest first', async () => {
    const user = await api.fundedUser(1000);
    const first = await api.order(user, 1);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const second = await api.order(user, 2);
    const listed = await api.json<{ id: string }[]>(api.get(`/orders?user_id=${user}`), 200);
    expect(listed.map((o) => o.id)).to.deep.equal([second.id, first.id]);
  });

  it('pages 120 orders by 50 through the gateway, following Link: 50, 50, 20, each once, newest first', async () => {
    const user = `pages-${Date.now().toString(36)}`;
    const own = await system.client(user);
    // Another user's order, older than all of the user's: past any position in their list.
    const other = `pages-other-${Date.now().toString(36)}`;
    const theirs = await (await system.client(other)).order(other, 1);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const placed: string[] = [];
    // Ten at a time, so that many share a millisecond and pages end inside such runs.
    for (let batch = 0; batch < 12; batch += 1) {
      const orders = await Promise.all(Array.from({ length: 10 }, (_, i) => own.order(user, batch * 10 + i + 1)));
      placed.push(...orders.map((o) => o.id));
    }
    const walk = async (client: GozonClient, path: string) => {
      const pages: Order[][] = [];
      const links: string[] = [];
      for (let next: string | undefined = path; next !== undefined && pages.length < 5;) {
        const res = await client.get(next);
        pages.push(await client.json<Order[]>(res, 200));
        const link = res.headers.get('link');
        if (link) links.push(link);
        next = /^<(\/orders\?[^>]+)>; rel="next"$/.exec(link ?? '')?.[1];
      }
      return { pages, links };
    };
    const { pages, links } = await walk(own, '/orders?limit=50');
    expect(pages.map((p) => p.length)).to.deep.equal([50, 50, 20]);
    expect(links, 'a Link on every page but the last').to.have.length(2);
    const listed = pages.flat();
    expect(new Set(listed.map((o) => o.id))).to.deep.equal(new Set(placed));
    const newestFirst = [...listed].sort((a, b) =>
      a.created_at === b.created_at ? (a.id < b.id ? 1 : -1) : a.created_at < b.created_at ? 1 : -1,
    );
    expect(listed.map((o) => o.id)).to.deep.equal(newestFirst.map((o) => o.id));
    // An administrator naming the user gets the same pages, the user kept in each link.
    const named = await walk(api, `/orders?user_id=${user}&limit=50`);
    expect(named.pages.flat().map((o) => o.id)).to.deep.equal(listed.map((o) => o.id));
    expect(named.links.every((l) => l.startsWith(`</orders?user_id=${user}&limit=50&cursor=`))).to.equal(true);

    // A cursor is a position, not a user: another user following it sees only their own orders.
    const borrowed = /cursor=([\w-]+)/.exec(links[0] ?? '')?.[1] ?? '';
    const seen = await api.json<Order[]>(api.get(`/orders?user_id=${other}&cursor=${borrowed}`), 200);
    expect(seen.map((o) => o.id)).to.deep.equal([theirs.id]);
    await api.expectError(own.get(`/orders?cursor=${borrowed.slice(0, -2)}x`), 400, 'invalid_field', 'cursor');
    await api.expectError(own.get('/orders?limit=201'), 400, 'invalid_field', 'limit');
  });

  it('answers every contract error with its status and shape', async () => {
    await api.expectError(api.post('/orders', '{"user_id": "x",'), 400, 'malformed_json');
    // With identity a missing user_id is the caller; the 400 stands with GOZON_AUTH=none (identity.e2e).
    await api.expectError(api.post('/orders', { user_id: 'x' }), 400, 'missing_field', 'amount');
    await api.expectError(api.post('/orders', { user_id: 'x', amount: 0.5 }), 400, 'invalid_field', 'amount');
    await api.expectError(api.post('/orders', { user_id: 'x', amount: '12' }), 400, 'invalid_field', 'amount');
    await api.expectError(api.post('/orders', { user_id: 'x'.repeat(65), amount: 1 }), 400, 'invalid_field', 'user_id');
    await api.expectError(
      api.post('/orders', { user_id: 'x', amount: 1, description: 7 }),
      400,
      'invalid_field',
      'description',
    );
    await api.expectError(
      api.post('/payments/accounts/deposit', { user_id: 'x', amount: -3 }),
      400,
      'invalid_field',
      'amount',
    );
    await api.expectError(api.get(`/orders/${globalThis.crypto.randomUUID()}`), 404, 'order_not_found');
    await api.expectError(api.get('/payments/accounts/nobody-here/balance'), 404, 'account_not_found');
    await api.expectError(
      api.post('/payments/accounts/deposit', { user_id: 'nobody-here', amount: 1 }),
      404,
      'account_not_found',
    );
    const user = await api.fundedUser(0);
    await api.expectError(api.post('/payments/accounts', { user_id: user }), 409, 'account_exists');
    await api.expectError(
      api.post('/orders', JSON.stringify({ user_id: 'x', amount: 1, description: 'y'.repeat(70_000) })),
      413,
      'payload_too_large',
    );
    await api.expectError(api.post('/orders', 'x', { 'content-type': 'text/plain' }), 415, 'unsupported_media_type');
    await api.expectError(
      api.post('/orders', { user_id: user, amount: 1 }, { 'idempotency-key': 'x'.repeat(129) }),
      400,
      'invalid_idempotency_key',
    );
  });

  it('honours Idempotency-Key: a retry gets the first answer and has no second effect; another body gets 422', async () => {
    const user = await api.fundedUser(1000);
    const key = { 'idempotency-key': `e2e-${Date.now()}` };
    const [a, b, c] = await Promise.all([
      api.order(user, 300, key),
      api.order(user, 300, key),
      api.order(user, 300, key),
    ]);
    expect(b).to.deep.equal(a);
    expect(c).to.deep.equal(a);
    await api.expectError(
      api.post('/orders', { user_id: user, amount: 301, description: 'e2e' }, key),
      422,
      'idempotency_key_reused',
    );
    const depositKey = { 'idempotency-key': `dep-${Date.now()}` };
    const d1 = await api.json(api.post('/payments/accounts/deposit', { user_id: user, amount: 50 }, depositKey), 200);
    const d2 = await api.json(api.post('/payments/accounts/deposit', { user_id: user, amount: 50 }, depositKey), 200);
    expect(d2).to.deep.equal(d1);
    await api.final([a.id]);
    expect(await api.json<unknown[]>(api.get(`/orders?user_id=${user}`), 200)).to.have.length(1);
    expect(await api.balance(user)).to.equal(1000 + 50 - 300);
  });

  it('refuses control characters, broken Unicode, dots-only user ids and blank keys with 400 naming the field, changing nothing', async () => {
    const user = await api.fundedUser(1000);
    // Written as JSON escapes, so the bodies hold exactly these: NUL, a lone surrogate, ESC, NEL.
    for (const bad of ['\\u0000', '\\ud800', '\\u001b', '\\u0085']) {
      const order = `{"user_id":"${user}","amount":10,"description":"x${bad}"}`;
      await api.expectError(api.post('/orders', order), 400, 'invalid_field', 'description');
      const named = `{"user_id":"u${bad}","amount":10}`;
      await api.expectError(api.post('/orders', named), 400, 'invalid_field', 'user_id');
      await api.expectError(api.post('/payments/accounts/deposit', named), 400, 'invalid_field', 'user_id');
    }
    for (const key of ['', '   ']) {
      const headers = { 'idempotency-key': key };
      const body = { user_id: user, amount: 10 };
      await api.expectError(api.post('/orders', body, headers), 400, 'invalid_idempotency_key', 'Idempotency-Key');
      await api.expectError(api.post('/payments/accounts/deposit', body, headers), 400, 'invalid_idempotency_key');
    }
    await api.expectError(api.post('/payments/accounts', { user_id: '..' }), 400, 'invalid_field', 'user_id');
    // Paths as written: fetch would resolve `%2E%2E` as `..` before sending.
    const raw = (path: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const { hostname, port } = new URL(api.base);
        const headers = { authorization: `Bearer ${api.token ?? ''}` };
        request({ hostname, port, path, headers }, (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        })
          .on('error', reject)
          .end();
      });
    for (const [path, field] of [
      ['/orders/%00', 'id'],
      ['/orders/a%1Bb', 'id'],
      ['/orders?user_id=u%C2%85', 'user_id'],
      ['/payments/accounts/u%00/balance', 'user_id'],
      ['/payments/accounts/%2E%2E/balance', 'user_id'],
    ] as const) {
      const answer = await raw(path);
      expect(answer.status, `${path}: ${answer.body}`).to.equal(400);
      expect(JSON.parse(answer.body)).to.have.nested.property('error.message').that.contains(field);
    }
    expect(await api.json<unknown[]>(api.get(`/orders?user_id=${user}`), 200)).to.deep.equal([]);
    expect(await api.balance(user)).to.equal(1000);
  });

  it('never overdraws with 50 concurrent orders on one balance', async () => {
    const user = await api.fundedUser(2000);
    const orders = await Promise.all(Array.from({ length: 50 }, () => api.order(user, 100)));
    const finals = await api.final(orders.map((o) => o.id));
    expect(finals.filter((o) => o.status === 'FINISHED')).to.have.length(20);
    expect(finals.filter((o) => o.failure_reason === 'insufficient_funds')).to.have.length(30);
    expect(await api.balance(user)).to.equal(0);
  });

  it('survives kill -9 of the payments process mid-burst: every order leaves NEW and the ledger holds', async () => {
    const user = await api.fundedUser(5000);
    const burst = Array.from({ length: 80 }, (_, i) => api.order(user, 50 + (i % 3)));
    await new Promise((resolve) => setTimeout(resolve, 100));
    await system.parts.payments.kill('SIGKILL');
    const orders = await Promise.all(burst);
    await system.parts.payments.start();
    const finals = await api.final(
      orders.map((o) => o.id),
      60_000,
    );
    const paid = finals.filter((o) => o.status === 'FINISHED').reduce((sum, o) => sum + o.amount, 0);
    expect(await api.balance(user)).to.equal(5000 - paid);
    const payments = await system.databases.payments.db.query<{ n: string }>(
      "SELECT count(*) AS n FROM payments WHERE user_id = $1 AND status = 'SUCCEEDED'",
      [user],
    );
    expect(Number(payments.rows[0]?.n)).to.equal(finals.filter((o) => o.status === 'FINISHED').length);
  });

  it('answers 503 in the error shape when a service is down, and recovers when it returns', async () => {
    await system.parts.orders.kill('SIGTERM');
    await api.expectError(api.get('/orders?user_id=x'), 503, 'upstream_unavailable');
    await system.parts.orders.start();
    await api.json(api.get('/orders?user_id=x'), 200);
  });

  it('drains on SIGTERM: exits 0', async () => {
    expect(await system.parts.web.kill('SIGTERM')).to.equal(0);
    await system.parts.web.start();
  });

  it('refuses a retention configuration whose inbox forgets before a replay could come back', async () => {
    const bad = new GozonProcess(
      'payments',
      {
        ...system.parts.payments.env,
        PAYMENTS_PORT: '0',
        GOZON_RETENTION_INBOX_HOURS: '24',
        GOZON_REPLAY_HORIZON_HOURS: '72',
      },
      undefined,
    );
    await bad.start();
    expect(await bad.exited()).to.equal(1);
    expect(bad.output).to.contain('shorter than the replay horizon');
  });

  it('refuses to start a part alone without its variables, naming what is missing', async () => {
    const alone = new GozonProcess(
      'payments',
      { PAYMENTS_DATABASE_URL: '', AMQP_URL: '', ORDERS_DATABASE_URL: '' },
      undefined,
    );
    await alone.start();
    expect(await alone.exited()).to.equal(1);
    expect(alone.output.trim().split('\n')).to.have.length(1);
    expect(alone.output).to.contain('PAYMENTS_DATABASE_URL').and.contain('AMQP_URL');
  });
});
