import { expect } from 'chai';
import { Routes } from '@gozon/core';
import { defaultTopology, RabbitConnection, RabbitQueueTools } from '@gozon/adapters/rabbitmq';
import type { GozonClient, Order } from './client.js';
import { scrape, total } from './scrape.js';
import { ServerSystem } from './system.js';

/** The orders service's GOZON_RECONCILE_AFTER_SECONDS in these tests. */
const RECONCILE_AFTER_S = 2;
/**
 * How long after its messages were lost an order may stay NEW: its first re-request (the delay),
 * the next one should the first have been lost too (twice the delay), a sweep period, and a few
 * seconds for both services to handle it.
 */
const SETTLE_MS = (RECONCILE_AFTER_S * 3 + RECONCILE_AFTER_S / 4 + 5) * 1000;

/** The order ids of the orders process's `payment asked again` log lines. */
const askedAgainIn = (output: string): Set<string> =>
  new Set(
    output.split('\n').flatMap((line) => {
      try {
        const parsed = JSON.parse(line) as { msg?: unknown; order_id?: unknown };
        return parsed.msg === 'payment asked again' ? [String(parsed.order_id)] : [];
      } catch {
        return [];
      }
    }),
  );

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const until = async (what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not so after ${timeoutMs} ms`);
    await sleep(100);
  }
};

describe('reconciliation on Postgres + RabbitMQ: orders whose messages were purged settle by themselves', function () {
  this.timeout(180_000);
  let system: ServerSystem;
  let api: GozonClient;
  let connection: RabbitConnection;
  let queues: RabbitQueueTools;

  before(async () => {
    system = await ServerSystem.start({ env: { GOZON_RECONCILE_AFTER_SECONDS: String(RECONCILE_AFTER_S) } });
    api = await system.client();
    connection = new RabbitConnection({ url: system.vhost.url, topology: defaultTopology });
    await connection.open();
    queues = new RabbitQueueTools(connection);
  });
  after(async () => {
    await connection?.close();
    await system?.stop();
  });
  // A failed test must not leave the next one without a service.
  afterEach(async () => {
    for (const part of [system.parts.orders, system.parts.payments]) if (part.pid === undefined) await part.start();
  });

  /** Two users with accounts (opened while payments runs), a richer and a poorer. */
  const fundUsers = async () => ({ rich: await api.fundedUser(1_000), poor: await api.fundedUser(100) });

  /** Two orders that will be paid, one over the balance, one of a user without an account. */
  const placeOrders = async ({ rich, poor }: { rich: string; poor: string }) => {
    const placed = [
      await api.order(rich, 300),
      await api.order(rich, 400),
      await api.order(poor, 500),
      await api.order(`nobody-${Date.now().toString(36)}`, 5),
    ];
    return { rich, poor, placed, ids: placed.map((o) => o.id) };
  };

  /** The end every order must reach however its messages travelled, each decided and debited once. */
  const expectSettledOnce = async (set: Awaited<ReturnType<typeof placeOrders>>, finals: Order[]) => {
    expect(finals.map((o) => [o.status, o.failure_reason])).to.deep.equal([
      ['FINISHED', undefined],
      ['FINISHED', undefined],
      ['CANCELLED', 'insufficient_funds'],
      ['CANCELLED', 'account_not_found'],
    ]);
    const payments = await system.databases.payments.db.query<{ order_id: string; n: string }>(
      'SELECT order_id::text, count(*) AS n FROM payments WHERE order_id = ANY($1::uuid[]) GROUP BY order_id',
      [set.ids],
    );
    expect(new Map(payments.rows.map((r) => [r.order_id, Number(r.n)]))).to.deep.equal(
      new Map(set.ids.map((id) => [id, 1])),
    );
    // 300 + 400 debited once each; the refused order debited nothing.
    expect(await api.balance(set.rich)).to.equal(300);
    expect(await api.balance(set.poor)).to.equal(100);
  };

  /** Payment requests the orders service appended to its outbox, per order: the first and each one sent again. */
  const paymentRequests = async (ids: string[]): Promise<number[]> => {
    const { rows } = await system.databases.orders.db.query<{ id: string; n: string }>(
      `SELECT correlation_id AS id, count(*) AS n FROM outbox
        WHERE routing_key = $1 AND correlation_id = ANY($2::text[]) GROUP BY correlation_id`,
      [Routes.orderPayments, ids],
    );
    const counts = new Map(rows.map((r) => [r.id, Number(r.n)]));
    return ids.map((id) => counts.get(id) ?? 0);
  };

  const reconcileRequests = async (): Promise<number> =>
    total(await scrape(system.urls.orders), 'gozon_reconcile_requests_total');

  it('purged order.payments while payments was stopped: every order is asked again and paid once', async () => {
    const before = await reconcileRequests();
    const users = await fundUsers();
    await system.parts.payments.kill('SIGTERM');
    const set = await placeOrders(users);
    await until('the payment requests waiting in order.payments', async () => {
      return (await queues.depth(Routes.orderPayments)) >= set.ids.length;
    });
    // A re-request made before the purge is purged too: at least the originals are gone.
    expect(await queues.purge(Routes.orderPayments)).to.be.at.least(set.ids.length);
    const purgedAt = Date.now();
    await system.parts.payments.start();

    const finals = await api.final(set.ids, SETTLE_MS - (Date.now() - purgedAt));
    await expectSettledOnce(set, finals);
    for (const sent of await paymentRequests(set.ids))
      expect(sent, 'the first request and one sent again').to.be.at.least(2);
    expect((await reconcileRequests()) - before).to.be.at.least(set.ids.length);
  });

  it('purged payment.status after payments decided: the re-requests are answered from the decisions, nothing debited twice', async () => {
    const users = await fundUsers();
    await system.parts.payments.kill('SIGTERM');
    const set = await placeOrders(users);
    await until('the payment requests waiting in order.payments', async () => {
      return (await queues.depth(Routes.orderPayments)) >= set.ids.length;
    });
    // Orders stops consuming (and sweeping); payments decides every order and tells it.
    await system.parts.orders.kill('SIGTERM');
    await system.parts.payments.start();
    await until('every order decided by payments and its outcome waiting in payment.status', async () => {
      const decided = await system.databases.payments.db.query<{ n: string }>(
        'SELECT count(*) AS n FROM payments WHERE order_id = ANY($1::uuid[])',
        [set.ids],
      );
      return (
        Number(decided.rows[0]?.n) === set.ids.length && (await queues.depth(Routes.paymentStatus)) >= set.ids.length
      );
    });
    expect(await queues.purge(Routes.paymentStatus)).to.be.at.least(set.ids.length);
    const purgedAt = Date.now();
    const repeatedBefore = total(await scrape(system.urls.payments), 'gozon_message_handling_duration_seconds_count', {
      outcome: 'repeated',
    });
    // Every outcome is gone: the orders are NEW and nothing on the way would change that.
    const stillNew = await system.databases.orders.db.query<{ n: string }>(
      `SELECT count(*) AS n FROM orders WHERE id = ANY($1::uuid[]) AND status = 'NEW'`,
      [set.ids],
    );
    expect(Number(stillNew.rows[0]?.n)).to.equal(set.ids.length);
    await system.parts.orders.start();

    const finals = await api.final(set.ids, SETTLE_MS - (Date.now() - purgedAt));
    await expectSettledOnce(set, finals);
    // This life of the orders process asked for each order again, said so per order, and counted it.
    expect(await reconcileRequests()).to.be.at.least(set.ids.length);
    // Log lines leave in batches: they may come a moment after what they tell of.
    await until(
      'a `payment asked again` log line per order',
      async () => {
        const logged = askedAgainIn(system.parts.orders.output);
        return set.ids.every((id) => logged.has(id));
      },
      5_000,
    );
    // Payments answered each re-request with the decision it had taken, not with a new one.
    const repeated = total(await scrape(system.urls.payments), 'gozon_message_handling_duration_seconds_count', {
      outcome: 'repeated',
    });
    expect(repeated - repeatedBefore).to.be.at.least(set.ids.length);
  });
});
