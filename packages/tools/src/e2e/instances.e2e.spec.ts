import { expect } from 'chai';
import pg from 'pg';
import { checkBackoff, relayHolds } from '../chaos/instances.js';
import { GozonClient, type Order } from './client.js';
import { scrape, total } from './scrape.js';
import { ServerSystem } from './system.js';

/** The orders services' GOZON_RECONCILE_AFTER_SECONDS here: short, so a few waits pass in seconds. */
const RECONCILE_AFTER_S = 1;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A counter summed over one instance's samples. */
const counted = async (url: string, name: string, labels: Record<string, string> = {}): Promise<number> =>
  total(await scrape(url), name, labels);

describe('many instances on Postgres + RabbitMQ: one relay hold per database, shared queues, one sweep per wait', function () {
  this.timeout(180_000);
  let system: ServerSystem;
  /** A client of each gateway, with one token from the one issuer they share. */
  let gateways: GozonClient[];

  before(async () => {
    system = await ServerSystem.start({
      instances: 2,
      cuttableInstanceBrokers: true,
      env: { GOZON_RECONCILE_AFTER_SECONDS: String(RECONCILE_AFTER_S), REDIS_URL: 'redis://127.0.0.1:6379' },
    });
    const admin = await system.client();
    gateways = system.gatewayUrls.map((url) => new GozonClient(url, admin.token));
  });
  after(async () => {
    await system?.stop();
  });
  afterEach(async () => {
    for (const part of system.instances.payments) if (part.pid === undefined) await part.start();
  });

  it('takes a token at every gateway and pays orders placed through either', async () => {
    expect(gateways).to.have.length(2);
    const [first, second] = gateways as [GozonClient, GozonClient];
    const user = await first.fundedUser(1_000);
    // Two payments instances may take the three in any order: the last is more than the whole
    // balance, so it is cancelled whichever comes first.
    const placed = [await first.order(user, 100), await second.order(user, 200), await first.order(user, 1_500)];
    // An order placed through one gateway is read through the other: one system behind both.
    const finals = await second.final(placed.map((o) => o.id));
    expect(finals.map((o) => o.status)).to.deep.equal(['FINISHED', 'FINISHED', 'CANCELLED']);
    expect(await first.balance(user)).to.equal(700);
  });

  it('has one relay per database hold the outbox while every instance publishes and consumes', async () => {
    const users = await Promise.all(gateways.map((api) => api.fundedUser(100_000)));
    const ids: string[] = [];
    for (let i = 0; i < 40; i += 1) {
      const api = gateways[i % 2] as GozonClient;
      ids.push((await api.order(users[i % 2] as string, 10)).id);
    }
    await (gateways[0] as GozonClient).final(ids);

    const holds = await relayHolds(system);
    expect(holds.orders, 'sessions holding the orders relay lock').to.have.length(1);
    expect(holds.payments, 'sessions holding the payments relay lock').to.have.length(1);
    expect(holds.orders[0]).to.match(/^orders(-2)?$/);
    expect(holds.payments[0]).to.match(/^payments(-2)?$/);

    // Each instance publishes its own commits (on commit), the hold or not; and each consumer of a
    // queue shared by two instances handled some of its messages.
    for (const service of ['orders', 'payments'] as const) {
      for (const { name, url } of system.serviceInstances(service)) {
        expect(await counted(url, 'gozon_messages_published_total'), `${name} published`).to.be.greaterThan(0);
        expect(
          await counted(url, 'gozon_message_handling_duration_seconds_count'),
          `${name} handled`,
        ).to.be.greaterThan(0);
      }
    }
  });

  it('asks each order still NEW again once per wait, however many instances sweep', async () => {
    const api = gateways[0] as GozonClient;
    const user = await api.fundedUser(100_000);
    // Nobody answers payment requests: every instance's sweep finds the same orders due.
    await Promise.all(system.instances.payments.map((part) => part.kill('SIGTERM')));
    const placed: Order[] = [];
    for (let i = 0; i < 10; i += 1) placed.push(await (gateways[i % 2] as GozonClient).order(user, 10));
    // Asked again at 1 s and 3 s of age (the wait doubles), with both orders instances sweeping.
    await sleep(RECONCILE_AFTER_S * 4_000);
    await Promise.all(system.instances.payments.map((part) => part.start()));
    const finals = await api.final(placed.map((o) => o.id));
    expect(finals.every((o) => o.status === 'FINISHED')).to.equal(true);
    expect(await api.balance(user)).to.equal(100_000 - 10 * 10);

    const backoff = await checkBackoff(system.databases.orders.url, RECONCILE_AFTER_S * 1_000);
    expect(backoff.tooSoon).to.deep.equal([]);
    expect(backoff.ordersAskedAgain).to.be.at.least(placed.length);
    // Each re-request was made by one instance: the rows are what the instances say they asked.
    let requests = 0;
    for (const { url } of system.serviceInstances('orders')) {
      requests += await counted(url, 'gozon_reconcile_requests_total');
    }
    expect(requests).to.equal(backoff.asksAgain);
  });

  it('moves the relay hold off an orders instance cut off from the broker, so every row of its outbox is published', async () => {
    const [holder] = (await relayHolds(system)).orders;
    expect(holder).to.be.oneOf(['orders', 'orders-2']);
    const cut = holder === 'orders' ? 0 : 1;
    const other = cut === 0 ? 'orders-2' : 'orders';
    const links = system.links.instanceBrokers?.get(holder as string);
    if (!links) throw new Error('the system has no links per instance');
    // Gateway i forwards to orders i: these orders are placed by the instance cut off.
    const api = gateways[cut] as GozonClient;
    const user = await api.fundedUser(10_000);
    await Promise.all(links.map((link) => link.cut()));
    try {
      const placed: Order[] = [];
      for (let i = 0; i < 10; i += 1) placed.push(await api.order(user, 10));
      // Its own commits cannot be published, nor can its relay publish them; the other instance's
      // relay takes the hold and does, while the cut lasts.
      const unpublished = async (): Promise<number> => {
        const client = new pg.Client({ connectionString: system.databases.orders.url });
        await client.connect();
        try {
          const { rows } = await client.query<{ n: string }>(
            `SELECT count(*) AS n FROM outbox WHERE published_at IS NULL`,
          );
          return Number(rows[0]?.n);
        } finally {
          await client.end();
        }
      };
      const deadline = Date.now() + 30_000;
      while ((await unpublished()) > 0 && Date.now() < deadline) await sleep(250);
      expect(await unpublished(), 'outbox rows unpublished while one instance is cut off').to.equal(0);
      expect((await relayHolds(system)).orders).to.deep.equal([other]);
      const finals = await api.final(placed.map((o) => o.id));
      expect(finals.every((o) => o.status === 'FINISHED')).to.equal(true);
    } finally {
      await Promise.all(links.map((link) => link.restore()));
    }
  });

  it('the backoff check catches two asks of one order a moment apart (it can fail)', async () => {
    const client = new pg.Client({ connectionString: system.databases.orders.url });
    await client.connect();
    const order = '00000000-0000-4000-8000-00000000d0b1';
    try {
      // Published already, so no relay sends them: what two sweeps asking at once would leave.
      for (const [id, at] of [
        ['doubled-1', '2026-01-01T00:00:00.000Z'],
        ['doubled-2', '2026-01-01T00:00:00.100Z'],
      ]) {
        await client.query(
          `INSERT INTO outbox (message_id, routing_key, type, correlation_id, occurred_at, payload, published_at)
           VALUES ($1, 'order.payments', 'payment.requested', $2, $3, '{}', now())`,
          [id, order, at],
        );
      }
    } finally {
      await client.end();
    }
    const backoff = await checkBackoff(system.databases.orders.url, RECONCILE_AFTER_S * 1_000);
    expect(backoff.tooSoon).to.have.length(1);
    expect(backoff.tooSoon[0]).to.match(new RegExp(`^${order}: ask 2 came 0.100 s after ask 1`));
  });
});
