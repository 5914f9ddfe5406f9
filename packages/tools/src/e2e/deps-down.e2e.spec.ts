import { expect } from 'chai';
import type { GozonClient } from './client.js';
import { type Order } from './client.js';
import { scrape, scrapeUntil, total } from './scrape.js';
import { ServerSystem } from './system.js';
import type { TcpLink } from './tcp-link.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const readyz = async (base: string): Promise<number> => (await fetch(`${base}/readyz`)).status;

/** Waits until `/readyz` of every one of `bases` answers `status`; returns how long that took. */
const untilReady = async (bases: string[], status: number, timeoutMs: number): Promise<number> => {
  const started = Date.now();
  for (;;) {
    const answers = await Promise.all(bases.map(readyz));
    if (answers.every((s) => s === status)) return Date.now() - started;
    if (Date.now() - started > timeoutMs)
      throw new Error(`/readyz answers ${answers.join(', ')} after ${timeoutMs} ms`);
    await sleep(100);
  }
};

/** Runs `call` and returns its response with how long it took. */
const timed = async (call: () => Promise<Response>): Promise<{ res: Response; ms: number }> => {
  const started = Date.now();
  const res = await call();
  return { res, ms: Date.now() - started };
};

describe('dependencies down: Postgres and RabbitMQ', function () {
  this.timeout(120_000);
  let system: ServerSystem;
  let api: GozonClient;
  before(async () => {
    system = await ServerSystem.start({ cuttableDatabases: true, cuttableBroker: true });
    api = await system.client();
  });
  // A failed test must not leave the next one without its database or broker.
  afterEach(async () => {
    await Promise.all(Object.values(system.links).map((l) => l?.restore()));
  });
  after(async () => {
    await system?.stop();
  });

  const services = () => [system.urls.orders, system.urls.payments];
  const link = (name: 'ordersDatabase' | 'paymentsDatabase' | 'ordersBroker' | 'paymentsBroker'): TcpLink =>
    system.links[name]!;
  const expectAllRunning = () => {
    for (const part of Object.values(system.parts))
      expect(part.exitCode, `gozon ${part.part} exited`).to.equal(undefined);
  };

  /** `balance = deposits − FINISHED` for `user`, and one SUCCEEDED payment per FINISHED order. */
  const expectLedger = async (user: string, deposits: number, orders: Order[]) => {
    const finished = orders.filter((o) => o.status === 'FINISHED');
    expect(await api.balance(user)).to.equal(deposits - finished.reduce((sum, o) => sum + o.amount, 0));
    const paid = await system.databases.payments.db.query<{ order_id: string }>(
      "SELECT order_id FROM payments WHERE user_id = $1 AND status = 'SUCCEEDED'",
      [user],
    );
    expect(paid.rows.map((r) => r.order_id).sort()).to.deep.equal(finished.map((o) => o.id).sort());
  };

  /**
   * Waits until every order of `user` has left NEW, and returns them: the ones in `accepted` (a 2xx
   * answer) must be among them, and so may be some whose answer was a 503 (committed as the
   * connection went away: not accepted for the client, but an order all the same).
   */
  const settleAll = async (user: string, accepted: Order[], timeoutMs: number): Promise<Order[]> => {
    const all = await api.json<Order[]>(api.get(`/orders?user_id=${user}&limit=200`), 200);
    expect(all.map((o) => o.id)).to.include.members(accepted.map((o) => o.id));
    return api.final(
      all.map((o) => o.id),
      timeoutMs,
    );
  };

  /** Places `count` orders at once; returns every answer, as a client would see it. */
  const burst = (user: string, count: number, amount: number) =>
    Array.from({ length: count }, () => api.post('/orders', { user_id: user, amount, description: 'burst' }));

  /** Every API call through the gateway answers 503 in the error shape, each within 10 s. */
  const expectEveryCallUnavailable = async (user: string, orderId: string): Promise<void> => {
    const calls: Record<string, () => Promise<Response>> = {
      'POST /orders': () => api.post('/orders', { user_id: user, amount: 5 }),
      'GET /orders?user_id': () => api.get(`/orders?user_id=${user}`),
      'GET /orders/{id}': () => api.get(`/orders/${orderId}`),
      'POST /payments/accounts': () => api.post('/payments/accounts', { user_id: `${user}-2` }),
      'POST /payments/accounts/deposit': () => api.post('/payments/accounts/deposit', { user_id: user, amount: 5 }),
      'GET /payments/accounts/{user_id}/balance': () => api.get(`/payments/accounts/${user}/balance`),
    };
    // At once, as clients would: a request never waits on another one's timeout.
    const answers = await Promise.all(Object.values(calls).map(timed));
    for (const [i, name] of Object.keys(calls).entries()) {
      const { res, ms } = answers[i]!;
      // The services give up on a database after 5 s: to connect, or for a statement's answer.
      expect(ms, `${name} answered in ${ms} ms`).to.be.lessThan(10_000);
      expect(res.headers.get('retry-after'), name).to.equal('1');
      await api.expectError(res, 503, 'service_unavailable');
    }
  };

  it('answers 503 in the error shape, in bounded time, while Postgres is down, and recovers by itself when it returns', async () => {
    const user = await api.fundedUser(1_000);
    const accepted = await api.order(user, 10);
    // Orders in flight at the cut: each is either accepted, and then never lost, or refused.
    const inFlight = burst(user, 30, 10);
    await Promise.race(inFlight);
    const cutAt = Date.now();
    await Promise.all([link('ordersDatabase').cut(), link('paymentsDatabase').cut()]);
    const late: Order[] = [];
    for (const res of await Promise.all(inFlight)) {
      const text = await res.text();
      expect([201, 503], text).to.include(res.status);
      if (res.status === 201) late.push(JSON.parse(text) as Order);
    }

    await expectEveryCallUnavailable(user, accepted.id);
    await untilReady(services(), 503, 5_000);
    expect((await fetch(`${system.urls.orders}/healthz`)).status).to.equal(200);
    // An outage longer than the consumers' whole retry schedule (about 3 s).
    await sleep(cutAt + 5_000 - Date.now());
    expectAllRunning();

    await Promise.all([link('ordersDatabase').restore(), link('paymentsDatabase').restore()]);
    await untilReady(services(), 200, 10_000);
    const after = await api.order(user, 100);
    const [settled] = await api.final([after.id], 10_000);
    expect(settled?.status).to.equal('FINISHED');
    // A relay's claim whose answer the cut lost keeps its rows leased (30 s) before a relay takes them again.
    await expectLedger(user, 1_000, await settleAll(user, [accepted, ...late, after], 45_000));
    expectAllRunning();
  });

  it('answers 503 within the 5 s timeouts while Postgres stops answering (a hung host), and recovers when it answers again', async () => {
    const user = await api.fundedUser(1_000);
    const accepted = await api.order(user, 10);
    // Settled, so the pools hold idle connections: the ones that would wait forever for an answer.
    await api.final([accepted.id]);
    link('ordersDatabase').stall();
    link('paymentsDatabase').stall();
    const ready = Promise.all(services().map((base) => timed(() => fetch(`${base}/readyz`))));
    await expectEveryCallUnavailable(user, accepted.id);
    for (const { res, ms } of await ready) {
      expect(res.status).to.equal(503);
      expect(ms).to.be.lessThan(10_000);
    }
    expectAllRunning();

    await Promise.all([link('ordersDatabase').restore(), link('paymentsDatabase').restore()]);
    await untilReady(services(), 200, 10_000);
    const after = await api.order(user, 100);
    const finals = await settleAll(user, [accepted, after], 15_000);
    // The POST /orders answered 503 when its statement's answer timed out; the statement itself may
    // still reach the database once it answers again and take effect (as any request whose last
    // round trip timed out): the order is then taken, paid once and in the ledger.
    expect(finals.length).to.be.within(2, 3);
    expect(finals.every((o) => o.status === 'FINISHED')).to.equal(true);
    await expectLedger(user, 1_000, finals);
    expectAllRunning();
  });

  it('takes orders while RabbitMQ is down (the outbox holds them), and settles every one once it returns', async () => {
    const user = await api.fundedUser(500);
    const before = burst(user, 10, 20);
    await sleep(20);
    await Promise.all([link('ordersBroker').cut(), link('paymentsBroker').cut()]);
    const placed = await Promise.all((await Promise.all(before)).map((res) => api.json<Order>(res, 201)));
    const during = await Promise.all(Array.from({ length: 10 }, () => api.order(user, 30)));
    for (const order of await Promise.all(during.map((o) => api.getOrder(o.id)))) expect(order.status).to.equal('NEW');
    await scrapeUntil(system.urls.orders, (s) => total(s, 'gozon_outbox_pending_messages') >= 10, 'outbox holding');
    // The contract: ready only while its database and broker connections work.
    await untilReady(services(), 503, 10_000);
    // What needs only the database still works.
    await api.json(api.post('/payments/accounts/deposit', { user_id: user, amount: 100 }), 200);
    await sleep(3_000);
    expectAllRunning();

    await Promise.all([link('ordersBroker').restore(), link('paymentsBroker').restore()]);
    const finals = await api.final(
      [...placed, ...during].map((o) => o.id),
      30_000,
    );
    await untilReady(services(), 200, 15_000);
    for (const base of services())
      await scrapeUntil(base, (s) => total(s, 'gozon_outbox_pending_messages') === 0, `${base} outbox drained`);
    await expectLedger(user, 600, finals);
    expectAllRunning();
  });

  it("settles every order taken during a 10 s outage of payments' database once it returns: none dead-lettered", async () => {
    const user = await api.fundedUser(1_000);
    const before = await scrape(system.urls.payments);
    const placed: Order[] = [];
    await link('paymentsDatabase').cut();
    // Orders keep coming; payments cannot decide on them meanwhile, far longer than its 5 attempts take.
    for (let i = 0; i < 10; i += 1) {
      placed.push(await api.order(user, 10));
      await sleep(1_000);
    }
    await link('paymentsDatabase').restore();
    const finals = await api.final(
      placed.map((o) => o.id),
      30_000,
    );
    expect(finals.map((o) => o.status)).to.deep.equal(placed.map(() => 'FINISHED'));
    await expectLedger(user, 1_000, finals);
    const after = await scrape(system.urls.payments);
    const delta = (name: string) => total(after, name) - total(before, name);
    expect(delta('gozon_message_retries_total'), 'retries while the database was down').to.be.greaterThan(10);
    expect(delta('gozon_messages_dead_lettered_total')).to.equal(0);
    expect(total(after, 'gozon_queue_messages', { queue: 'order.payments.dlq' })).to.equal(0);
  });
});
