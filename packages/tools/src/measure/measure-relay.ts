// Outbox relay throughput on real servers, against raw amqplib publishing as the baseline.
// Run after a build: node packages/tools/dist/measure/measure-relay.js [messages]
//
// 1. raw amqplib: N persistent messages, one waitForConfirms per batch of 200;
// 2. LeasedRelay (PgOutboxStore + RabbitPublisher, batches of 200) draining a Postgres outbox
//    filled beforehand with N rows: one relay, then two relays on separate pools and connections;
// 3. relay / raw.
// Each relay phase reports where a batch spends its time: claim, publish (until confirmed), mark.
import { Routes, type OutgoingMessage } from '@gozon/core';
import { commandLine, parseMessageCount } from '../support/command-line.js';
import { publishRaw } from './raw-publish.js';
import { LeasedRelay, type ClaimedMessage, type MessagePublisher, type OutboxStore } from '@gozon/messaging';
import { aPaymentRequest } from '@gozon/adapters/contract';
import { ordersUnitOfWork, PgDatabase, PgOutboxStore } from '@gozon/adapters/postgres';
import { RabbitPublisher, type RabbitConnection } from '@gozon/adapters/rabbitmq';
import { createRabbitTestBed, createTestDatabase, type RabbitTestBed, type TestDatabase } from '../support/scratch.js';

const total = commandLine(
  `usage: node packages/tools/dist/measure/measure-relay.js [messages]   (default 20000)`,
  (args) => parseMessageCount('measure-relay', args),
);
const batchSize = 200;
const fillTransaction = 500;
const leaseMs = 30_000;

const now = (): bigint => process.hrtime.bigint();
const secondsSince = (started: bigint): number => Number(now() - started) / 1e9;

const rate = (label: string, seconds: number): number => {
  const perSecond = total / seconds;
  console.log(`${label}: ${total} messages in ${seconds.toFixed(2)} s = ${Math.round(perSecond)} msg/s`);
  return perSecond;
};

/** Time spent in each step of the relay, summed over every batch of every relay of a phase. */
class Timings {
  claims = 0;
  claimNs = 0n;
  emptyClaims = 0;
  publishes = 0;
  publishNs = 0n;
  marks = 0;
  markNs = 0n;

  print(wall: number): void {
    const ms = (ns: bigint, n: number): string => (n === 0 ? '-' : (Number(ns) / 1e6 / n).toFixed(2));
    const share = (ns: bigint): string => `${((Number(ns) / 1e9 / wall) * 100).toFixed(0)}%`;
    console.log(
      `  per batch (ms): claim ${ms(this.claimNs, this.claims)} | publish+confirm ${ms(this.publishNs, this.publishes)}` +
        ` | mark ${ms(this.markNs, this.marks)}` +
        `   [${this.claims} claims (${this.emptyClaims} empty), ${this.publishes} publishes, ${this.marks} marks;` +
        ` summed time / wall: claim ${share(this.claimNs)}, publish ${share(this.publishNs)}, mark ${share(this.markNs)}]`,
    );
  }
}

/** The store as the relay sees it, timing each call. */
const timedStore = (store: OutboxStore, t: Timings): OutboxStore => ({
  claim: async (limit, lease): Promise<ClaimedMessage[]> => {
    const started = now();
    const rows = await store.claim(limit, lease);
    t.claimNs += now() - started;
    t.claims += 1;
    if (rows.length === 0) t.emptyClaims += 1;
    return rows;
  },
  markPublished: async (ids) => {
    const started = now();
    await store.markPublished(ids);
    t.markNs += now() - started;
    t.marks += 1;
  },
  // Counted as a claim: the mark rides along in the same statement.
  markAndClaim: async (published, limit, lease): Promise<ClaimedMessage[]> => {
    const started = now();
    const rows = await store.markAndClaim(published, limit, lease);
    t.claimNs += now() - started;
    t.claims += 1;
    if (published.length > 0) t.marks += 1;
    if (rows.length === 0) t.emptyClaims += 1;
    return rows;
  },
  release: (ids) => store.release(ids),
  pending: () => store.pending(),
});

const timedPublisher = (publisher: MessagePublisher, t: Timings): MessagePublisher => ({
  publish: async (messages) => {
    const started = now();
    await publisher.publish(messages);
    t.publishNs += now() - started;
    t.publishes += 1;
  },
});

/** A fresh orders database with `total` rows in its outbox, appended in transactions of 500. */
const filledOutbox = async (databases: TestDatabase[]): Promise<TestDatabase> => {
  const t = await createTestDatabase('orders');
  databases.push(t);
  const uow = ordersUnitOfWork(t.db);
  const started = now();
  for (let i = 0; i < total; i += fillTransaction) {
    const messages: OutgoingMessage[] = Array.from({ length: Math.min(fillTransaction, total - i) }, () =>
      aPaymentRequest(),
    );
    await uow.run(async (tx) => {
      for (const m of messages) await tx.outbox.append(m);
    });
  }
  console.log(`  (outbox filled with ${total} rows in ${secondsSince(started).toFixed(2)} s, not timed)`);
  return t;
};

/** Drains the outbox with `relays` concurrent relays, each on its own pool and AMQP connection. */
const relayPhase = async (
  bed: RabbitTestBed,
  databases: TestDatabase[],
  relays: number,
  label: string,
): Promise<number> => {
  const t = await filledOutbox(databases);
  const timings = new Timings();
  const pools = Array.from({ length: relays }, () => PgDatabase.connect(t.url, { max: 2 }));
  const connections: RabbitConnection[] = [bed.connection];
  while (connections.length < relays) connections.push(await bed.connect());
  const publishers = connections.map((c) => new RabbitPublisher(c));
  try {
    const instances = pools.map(
      (pool, i) =>
        new LeasedRelay(timedStore(new PgOutboxStore(pool), timings), timedPublisher(publishers[i]!, timings), {
          batchSize,
          leaseMs,
        }),
    );
    // Open every channel and pooled connection before the clock starts.
    await Promise.all(publishers.map((p) => p.publish([])));
    await Promise.all(pools.map((p) => p.query('SELECT 1')));

    const started = now();
    // A relay stops when it finds nothing to claim: every row left is then published or leased
    // by the other relay, which finishes it.
    await Promise.all(
      instances.map(async (relay) => {
        while ((await relay.execute()) > 0);
      }),
    );
    const seconds = secondsSince(started);
    const perSecond = rate(label, seconds);
    timings.print(seconds);

    const pending = await new PgOutboxStore(t.db).pending();
    const depth = await bed.queues.depth(Routes.orderPayments);
    const ok = pending === 0 && depth === total;
    console.log(
      `  pending afterwards: ${pending}, queue depth: ${depth} (expected ${total}) ${ok ? 'OK' : 'MISMATCH'}`,
    );
    if (!ok) process.exitCode = 1;
    return perSecond;
  } finally {
    await Promise.all(publishers.map((p) => p.close()));
    await Promise.all(pools.map((p) => p.close()));
    await bed.queues.purge(Routes.orderPayments);
    await t.drop();
  }
};

const bed = await createRabbitTestBed();
const databases: TestDatabase[] = [];
try {
  console.log(`${total} messages, batches of ${batchSize}`);
  const rawBatches = Array.from({ length: Math.ceil(total / batchSize) }, (_, b) =>
    Array.from({ length: Math.min(batchSize, total - b * batchSize) }, () => aPaymentRequest()),
  );
  const started = now();
  await publishRaw(bed.connection, rawBatches);
  const rawRate = rate('1. raw amqplib, waitForConfirms per 200', secondsSince(started));
  console.log(`  queue depth: ${await bed.queues.depth(Routes.orderPayments)}`);
  await bed.queues.purge(Routes.orderPayments);

  const one = await relayPhase(bed, databases, 1, '2a. LeasedRelay, 1 relay');
  const two = await relayPhase(bed, databases, 2, '2b. LeasedRelay, 2 relays');

  console.log(`3. relay / raw: 1 relay ${(one / rawRate).toFixed(2)}, 2 relays ${(two / rawRate).toFixed(2)}`);
} finally {
  for (const t of databases) await t.drop().catch(() => undefined);
  await bed.close();
}
