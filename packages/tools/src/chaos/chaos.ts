import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { cleanUpOnSignals, endingBySignal, exitUnlessSignalled, onCleanup } from '@gozon/testkit';
import { ServerSystem } from '../e2e/system.js';
import { commandLine } from '../support/command-line.js';
import { clusterBroker, localBroker, startCluster, type ChaosBroker } from './broker.js';
import { backlog, checkLedger, readLedger, type Backlog, type Violation } from './check.js';
import { FaultInjector, MessageTally } from './faults.js';
import { ChaosHttp } from './http.js';
import { checkBackoff, relayHolds } from './instances.js';
import { CHAOS_USAGE, parseChaosArgs } from './options.js';
import { Random, sleep } from './random.js';
import { renderReport, toJson, type ChaosRun } from './report.js';
import { verdict, Workload } from './workload.js';

const options = commandLine(CHAOS_USAGE, parseChaosArgs);
// Ctrl-C or SIGTERM drops the databases, vhost and users made so far and stops the processes started.
cleanUpOnSignals();

const tty = process.stdout.isTTY;
const say = (line: string): void => {
  if (tty) process.stdout.write('\r\x1b[2K');
  console.log(line);
};
let lastProgress = 0;
const progress = (line: string): void => {
  if (tty) process.stdout.write(`\r\x1b[2K${line}`);
  else if (Date.now() - lastProgress >= 10_000) {
    lastProgress = Date.now();
    console.log(line);
  }
};

const waitQuiet = async (
  system: ServerSystem,
  broker: ChaosBroker,
  timeoutMs: number,
  t0: number,
): Promise<{ quiet: boolean; last: Backlog | null }> => {
  const urls = { orders: system.databases.orders.url, payments: system.databases.payments.url };
  const deadline = Date.now() + timeoutMs;
  let calm = 0;
  let last: Backlog | null = null;
  while (Date.now() < deadline) {
    try {
      last = await backlog(urls, system.vhost.name, broker.ctl);
      progress(
        `${((Date.now() - t0) / 1000).toFixed(0)} s · settling: ${last.newOrders} orders NEW, ${last.outbox} outbox rows, ${last.queued} messages queued`,
      );
      calm = last.newOrders + last.outbox + last.queued === 0 ? calm + 1 : 0;
      if (calm >= 3) return { quiet: true, last };
    } catch {
      calm = 0;
    }
    await sleep(500);
  }
  return { quiet: false, last };
};

/**
 * How long the quiet phase may wait. An order whose payment request (and re-requests) were lost
 * in the load is asked again at most one backoff step after the load ends; the step doubles from
 * the reconcile delay, so it is never longer than the order's age plus that delay (the age at most
 * the load's length), nor than the 10 minutes the backoff is capped at.
 */
const quietTimeoutMs = (loadMs: number, reconcileAfterMs: number): number =>
  Math.max(120_000, Math.min(loadMs, 600_000) + reconcileAfterMs + 30_000);

const main = async (): Promise<number> => {
  const runId = randomBytes(3).toString('hex');
  const rng = new Random(options.seed);
  const t0 = Date.now();
  say(
    `GoZon chaos run ${runId} · seed ${options.seed} · up to ${options.durationMs / 1000} s of load` +
      (Number.isFinite(options.maxOrders) ? ` or ${options.maxOrders} orders` : '') +
      ` · a fault every ~${options.faultEveryMs / 1000} s: ${options.kinds.join(', ')}` +
      ` · orders asked again after ${options.reconcileAfterMs / 1000} s NEW` +
      ` · ${options.instances} instance(s) of orders, payments and the gateway` +
      (options.rabbitmqNodes ? ` · a RabbitMQ cluster of ${options.rabbitmqNodes} node(s), quorum queues` : ''),
  );
  let cluster: Awaited<ReturnType<typeof startCluster>> | undefined;
  let broker: ChaosBroker | undefined;
  let clusterStartMs: number | undefined;
  if (options.rabbitmqNodes > 0) {
    const started = Date.now();
    cluster = await startCluster(options.rabbitmqNodes);
    clusterStartMs = Date.now() - started;
    broker = await clusterBroker(cluster).catch(async (err: unknown) => {
      await cluster?.stop().catch(() => undefined);
      throw err;
    });
    say(
      `cluster of ${cluster.nodes.length} node(s) up in ${(clusterStartMs / 1000).toFixed(1)} s: ${cluster.nodes.map((n) => `${n.name} :${n.amqpPort}`).join(', ')}`,
    );
  }
  if (options.logDir) await mkdir(options.logDir, { recursive: true });
  const system = await ServerSystem.start({
    ...(options.logDir ? { logLevel: 'info', logDir: options.logDir } : { logLevel: 'warn' }),
    instances: options.instances,
    ...(broker ? { broker: broker.vhost } : {}),
    // The services reach the broker through links the run can cut, one instance at a time.
    cuttableInstanceBrokers: options.kinds.includes('cut an instance off the broker'),
    env: {
      // Short, so that orders whose messages were lost settle within the quiet phase.
      GOZON_RECONCILE_AFTER_SECONDS: String(options.reconcileAfterMs / 1000),
      // Gateways behind one address share their request budgets, as a deployment would.
      ...(options.instances > 1 ? { REDIS_URL: process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379' } : {}),
      ...(broker ? { AMQP_QUEUE_TYPE: 'quorum' } : {}),
    },
  }).catch(async (err: unknown) => {
    await broker?.vhost.delete().catch(() => undefined);
    await cluster?.stop().catch(() => undefined);
    throw err;
  });
  broker ??= localBroker(system.vhost);
  const theBroker = broker;
  // An administrator's token (kept valid across gateway restarts: the keys stay in the data
  // directory, which every gateway shares, as it shares the issuer's address).
  const http = new ChaosHttp(system.gatewayUrls, 5_000, {
    authorization: `Bearer ${await system.token('chaos-admin', true)}`,
  });
  const tally = new MessageTally(system);
  const injector = new FaultInjector(
    system,
    theBroker,
    rng,
    t0,
    tally,
    {
      meanIntervalMs: options.faultEveryMs,
      kinds: options.kinds,
      downMs: [500, 3_000],
      brokerDownMs: 3_000,
      nodeDownMs: [2_000, 5_000],
    },
    (line) => say(`  ${line}`),
  );
  // Interrupted, the fault in progress is undone before the parts stop and what the run made is
  // dropped (cleanups run newest first).
  const stopFaults = onCleanup('the fault in progress', () => injector.stop());
  let keep = options.keep;
  try {
    const workload = new Workload(http, rng, runId, t0);
    const population = Workload.population(runId, options.users, Math.max(1, Math.round(options.users / 10)));
    await workload.setup(population, (r) => r.int(5_000, 50_000));
    say(
      `system up and ${population.funded.length} accounts funded in ${((Date.now() - t0) / 1000).toFixed(1)} s; load and faults start`,
    );

    const scraper = setInterval(() => {
      void tally.observe('orders');
      void tally.observe('payments');
    }, 2_000);
    const ticker = setInterval(() => {
      const orders = workload.requests.filter((r) => r.kind === 'order');
      const open = orders.filter((r) => verdict(r) === 'indeterminate').length;
      progress(
        `${((Date.now() - t0) / 1000).toFixed(0)} s · ${workload.ordersRequested} orders requested (${open} without an answer yet) · ` +
          `${workload.actionsDone} actions · ${injector.timeline.length} faults`,
      );
    }, 1_000);
    const loadStart = Date.now();
    injector.start();
    try {
      await workload.run(population, {
        durationMs: options.durationMs,
        maxOrders: options.maxOrders,
        concurrency: options.concurrency,
        thinkMs: [10, 60],
        maxAttempts: 6,
      });
    } finally {
      clearInterval(ticker);
      say(
        `load over after ${((Date.now() - loadStart) / 1000).toFixed(1)} s; stopping faults and bringing everything back`,
      );
      await injector.stop();
    }
    const loadMs = Date.now() - loadStart;

    // A careful client retries what has no answer once the system answers again.
    for (let round = 0; round < 5; round += 1) {
      const open = await workload.retryUnanswered();
      if (open === 0) break;
      say(`  retried ${open} keyed request(s) still without an answer`);
      await sleep(1_000);
    }
    const quietMs = quietTimeoutMs(loadMs, options.reconcileAfterMs);
    const settled = await waitQuiet(system, theBroker, quietMs, t0);
    clearInterval(scraper);
    await Promise.all([tally.observe('orders'), tally.observe('payments')]);
    if (!settled.quiet) say(`not quiet after ${quietMs / 1000} s: ${JSON.stringify(settled.last)}`);

    const ledger = await readLedger(
      { orders: system.databases.orders.url, payments: system.databases.payments.url },
      system.vhost.name,
      theBroker.ctl,
    );
    const unexpected = injector.timeline.filter((e) => e.kind === 'unexpected exit').map((e) => e.detail);
    const checked = checkLedger(ledger, workload.requests, population, unexpected);
    // Many instances: one relay hold per database, re-requests no sooner than the backoff, Postgres up.
    const holds = await relayHolds(system);
    const backoff = await checkBackoff(system.databases.orders.url, options.reconcileAfterMs);
    const more: Violation[] = [
      ...(['orders', 'payments'] as const)
        .filter((db) => holds[db].length !== 1)
        .map((db) => ({
          rule: 'one relay holds each outbox',
          detail: `${db} database: ${holds[db].length} session(s) hold the relay lock (${holds[db].join(', ') || 'none'})`,
        })),
      ...backoff.tooSoon.map((detail) => ({
        rule: 'an order is asked again no sooner than its backoff allows',
        detail,
      })),
      ...(injector.postgresUpAtEnd
        ? []
        : [{ rule: 'Postgres is up at the end', detail: 'Postgres did not answer after the faults were undone' }]),
    ];
    const summary = { ...checked, violations: [...checked.violations, ...more] };
    const run: ChaosRun = {
      runId,
      seed: options.seed,
      loadMs,
      totalMs: Date.now() - t0,
      kinds: options.kinds,
      timeline: injector.timeline,
      tally,
      lost: injector.lost,
      reconcileAfterMs: options.reconcileAfterMs,
      ledger,
      summary,
      quiet: settled.quiet,
      instances: options.instances,
      rabbitmqNodes: options.rabbitmqNodes,
      clusterStartMs,
      relayHolds: holds,
      backoff,
      postgresUpAtEnd: injector.postgresUpAtEnd,
    };
    say('');
    console.log(renderReport(run));
    if (options.out) {
      await mkdir(dirname(options.out), { recursive: true });
      await writeFile(options.out, `${JSON.stringify(toJson(run), null, 2)}\n`);
      console.log(`JSON report: ${options.out}`);
    }
    if (summary.violations.length > 0) {
      keep = true;
      console.log(
        `databases ${system.databases.orders.name}, ${system.databases.payments.name}` +
          (cluster
            ? ' are kept for inspection (the cluster is not: the report has its queues)'
            : ` and vhost ${system.vhost.name} are kept for inspection`),
      );
    }
    return summary.violations.length > 0 ? 1 : 0;
  } finally {
    stopFaults();
    await injector.stop().catch(() => undefined);
    http.close();
    if (keep) await Promise.all(system.processes().map(([, p]) => p.kill('SIGTERM').catch(() => undefined)));
    else await system.stop();
    // Three nodes cost half a gigabyte and some CPU: the cluster goes whatever the result.
    if (cluster) {
      await theBroker.vhost.delete().catch(() => undefined);
      await cluster.stop();
    }
  }
};

main().then(
  (code) => exitUnlessSignalled(code),
  (err: unknown) => {
    // Interrupted, the run fails as its parts go away: the signal's cleanup says so and exits.
    if (endingBySignal()) return;
    console.error('chaos run could not complete:', err);
    process.exit(2);
  },
);
