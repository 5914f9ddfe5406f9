// `npm run bench`: end-to-end throughput and latency of GoZon on the real Postgres and RabbitMQ,
// beside this machine's raw limits measured in the same run. `--quick` for a smoke run (< 1 min).
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanUpOnSignals, endingBySignal } from '@gozon/testkit';
import { ServerSystem } from '../e2e/system.js';
import { commandLine } from '../support/command-line.js';
import { closedLoop, HttpClient, openLoop, percentile } from './http-client.js';
import { byPart, cpuPerOrder, cpuSnapshot as snapshotOf, sample } from './process-stats.js';
import { proxyRatesTraced, rawOutboxTps, rawPublishRate, rawTopicPublishRate } from './raw-limits.js';
import { BENCH_USAGE, parseBenchArgs } from './options.js';
import { relayDrainRate } from './relay-drain.js';
import {
  chart,
  machine,
  steadyRelayFailures,
  table,
  type BenchResults,
  type LatencyRow,
  type SteadyRelayResult,
} from './report.js';
import { measureSteadyRelay } from './steady-relay-run.js';

const { quick, outDir, pipeOutput, profDir, instances } = commandLine(BENCH_USAGE, parseBenchArgs);
// The services log at info, as they run; by default each writes to a file of its own, so reading
// their output costs the load generator (which shares the cores) nothing. `--pipe-output` pipes
// it into this process instead, as the end-to-end tests do. `--cpu-prof DIR`: every GoZon
// process writes a V8 CPU profile into DIR when it stops (open it in Chrome's DevTools or
// speedscope for a flame graph).
// Ctrl-C or SIGTERM drops the databases and vhosts made so far and stops the processes started.
cleanUpOnSignals();
const t = quick
  ? { raw: 2, publish: 3_000, proxy: 2, steady: 3, closed: 6, open: 4, users: 20, concurrency: 16 }
  : { raw: 10, publish: 20_000, proxy: 5, steady: 20, closed: 20, open: 15, users: 200, concurrency: 32 };
/** Messages per second of the steady-relay figure: a shop far below its maximum (issue 18). */
const STEADY_RATE = 200;
// With --instances the gateways share their request budgets in Redis, whose CPU then counts too.
const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const cpuSnapshot = (pids: Readonly<Record<string, number>>) =>
  snapshotOf(pids, instances === undefined ? {} : { redis: 'redis-server' });

const tty = process.stderr.isTTY;
let lastLine = 0;
const progress = (text: string): void => {
  if (tty) process.stderr.write(`\r\x1b[2K${text}`);
  else if (Date.now() - lastLine > 2_000) {
    process.stderr.write(`${text}\n`);
    lastLine = Date.now();
  }
};
const phase = (text: string): void => {
  if (tty) process.stderr.write('\r\x1b[2K');
  process.stderr.write(`== ${text}\n`);
};

const main = async (): Promise<void> => {
  phase(`raw limits of this machine (${quick ? 'quick' : 'full'} run)`);
  const outboxTps = await rawOutboxTps(t.raw);
  progress(`raw outbox-shaped tx: ${outboxTps.toFixed(0)} tps`);
  const publishPerSecond = await rawPublishRate(t.publish);
  progress(`raw amqplib publish: ${publishPerSecond.toFixed(0)} msg/s`);
  // A diagnostic only (the ratio stays against the raw figure): what routing costs without the relay.
  const topicPublishPerSecond = await rawTopicPublishRate(t.publish);
  const bare = await proxyRatesTraced(t.proxy, t.concurrency);
  const relayPublishPerSecond = await relayDrainRate(t.publish);
  progress(`outbox relay draining a backlog: ${relayPublishPerSecond.toFixed(0)} msg/s`);
  phase(
    `raw: ${outboxTps.toFixed(0)} tx/s, ${publishPerSecond.toFixed(0)} msg/s, proxy ${bare.proxied.toFixed(0)} req/s; relay ${relayPublishPerSecond.toFixed(0)} msg/s`,
  );
  const steadyRelay = { relay: await steady('relay'), commit: await steady('commit') };

  const logDir = pipeOutput ? undefined : await mkdtemp(join(tmpdir(), 'gozon-bench-logs-'));
  phase(
    `starting GoZon (separate processes, fresh databases and vhost; output ${logDir ? `to ${logDir}/<part>.log` : 'piped to the bench'})`,
  );
  const system = await ServerSystem.start({
    logLevel: process.env['BENCH_LOG_LEVEL'] ?? 'info',
    logDir,
    nodeArgs: profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [],
    ...(instances === undefined ? {} : { instances, env: { REDIS_URL } }),
  });
  // An administrator's token: the bench acts for its many users as support tooling would.
  const client = new HttpClient({ authorization: `Bearer ${await system.token('bench-admin', true)}` });
  // Orders go to each gateway in turn, as a load balancer in front of them would send them.
  const gateways = system.gatewayUrls;
  let turn = 0;
  const nextGateway = (): string => gateways[(turn += 1) % gateways.length] as string;
  const gateway = system.gatewayUrl;
  const perPart = (cpu: ReturnType<typeof cpuPerOrder>) => (instances === undefined ? cpu : byPart(cpu));
  try {
    const users = Array.from({ length: t.users }, (_, i) => `bench-${Date.now().toString(36)}-${i}`);
    for (const user of users) {
      await client.send(`${gateway}/payments/accounts`, 'POST', { user_id: user });
      await client.send(`${gateway}/payments/accounts/deposit`, 'POST', { user_id: user, amount: 1_000_000_000_000 });
    }
    let next = 0;
    const anyUser = () => users[(next += 1) % users.length] as string;

    phase('gateway overhead: balance reads direct vs through the gateway');
    const read = (base: string) => async () =>
      (await client.send(`${base}/payments/accounts/${anyUser()}/balance`, 'GET')).status === 200;
    const direct = await closedLoop(t.concurrency, t.proxy, read(system.serviceUrls.payments));
    const viaGateway = await closedLoop(t.concurrency, t.proxy, read(gateway));

    const pids = Object.fromEntries(
      (instances === undefined ? Object.entries(system.parts) : system.processes()).map(([name, part]) => [
        name,
        part.pid ?? 0,
      ]),
    );
    const before = Object.fromEntries(
      await Promise.all(Object.entries(pids).map(async ([name, pid]) => [name, await sample(pid)] as const)),
    );
    const loadStarted = performance.now();

    phase(`closed loop: ${t.concurrency} clients placing orders for ${t.closed} s`);
    const closedIds: string[] = [];
    const closedCpuBefore = await cpuSnapshot(pids);
    const closed = await closedLoop(
      t.concurrency,
      t.closed,
      async () => {
        const res = await client.send(`${nextGateway()}/orders`, 'POST', {
          user_id: anyUser(),
          amount: 100,
          description: 'bench',
        });
        if (res.status !== 201) return false;
        closedIds.push((JSON.parse(res.body) as { id: string }).id);
        return true;
      },
      (done, elapsed) =>
        progress(`closed loop: ${done} accepted in ${elapsed.toFixed(1)} s (${(done / elapsed).toFixed(0)}/s)`),
    );
    await drained(system, closedIds);
    const closedCpu = perPart(cpuPerOrder(closedCpuBefore, await cpuSnapshot(pids), closedIds.length));
    const orders = system.databases.orders.db;
    const span = await orders.query<{ n: string; seconds: string }>(
      `SELECT count(*) FILTER (WHERE status = 'FINISHED') AS n,
              EXTRACT(EPOCH FROM max(updated_at) - min(created_at)) AS seconds
         FROM orders WHERE id = ANY($1::uuid[])`,
      [closedIds],
    );
    const paidPerSecond = Number(span.rows[0]?.n) / Number(span.rows[0]?.seconds);
    phase(`sustained: ${closed.perSecond.toFixed(0)} accepted/s, ${paidPerSecond.toFixed(0)} paid/s`);

    const latency: LatencyRow[] = [];
    for (const share of [0.25, 0.5, 0.75]) {
      const rate = Math.max(1, Math.round(paidPerSecond * share));
      phase(`open loop at ${rate} orders/s (${share * 100} % of the sustained maximum) for ${t.open} s`);
      const cpuBefore = await cpuSnapshot(pids);
      const started = performance.now();
      const results = await openLoop(
        rate,
        t.open,
        async (due) => {
          const res = await client
            .send(`${nextGateway()}/orders`, 'POST', { user_id: anyUser(), amount: 100, description: 'bench' })
            .catch(() => ({ status: 0, body: '' }));
          return {
            id: res.status === 201 ? (JSON.parse(res.body) as { id: string }).id : undefined,
            acceptMs: performance.now() - due,
          };
        },
        (sent, elapsed) => progress(`open loop ${rate}/s: ${sent} sent in ${elapsed.toFixed(1)} s`),
      );
      const ids = results.flatMap((r) => (r.id ? [r.id] : []));
      const elapsed = (performance.now() - started) / 1000;
      await drained(system, ids);
      const cpu = perPart(cpuPerOrder(cpuBefore, await cpuSnapshot(pids), ids.length));
      const finals = await orders.query<{ ms: string }>(
        `SELECT EXTRACT(EPOCH FROM updated_at - created_at) * 1000 AS ms FROM orders WHERE id = ANY($1::uuid[])`,
        [ids],
      );
      const ms = finals.rows.map((row) => Number(row.ms)).sort((a, b) => a - b);
      const accept = results.map((r) => r.acceptMs).sort((a, b) => a - b);
      latency.push({
        share,
        offeredRate: rate,
        achievedRate: ids.length / elapsed,
        orders: ids.length,
        final: {
          p50: percentile(ms, 50),
          p95: percentile(ms, 95),
          p99: percentile(ms, 99),
          max: ms[ms.length - 1] ?? Number.NaN,
        },
        accept: { p50: percentile(accept, 50), p99: percentile(accept, 99) },
        cpu,
      });
    }

    const loadSeconds = (performance.now() - loadStarted) / 1000;
    const processes: BenchResults['processes'] = {};
    for (const [name, pid] of Object.entries(pids)) {
      const after = await sample(pid);
      const start = before[name];
      if (!after || !start) continue;
      processes[name] = {
        cpuPercent: ((after.cpuSeconds - start.cpuSeconds) / loadSeconds) * 100,
        peakRssMiB: after.peakRssMiB,
      };
    }

    const results: BenchResults = {
      when: new Date().toISOString(),
      mode: quick ? 'quick' : 'full',
      ...(instances === undefined ? {} : { instances }),
      machine: machine(),
      raw: {
        outboxTps,
        publishPerSecond,
        topicPublishPerSecond,
        bareDirectRps: bare.direct,
        bareProxyRps: bare.proxied,
      },
      gatewayOnBareRps: bare.gateway,
      openGatewayOnBareRps: bare.gatewayOpen,
      sustained: {
        acceptedPerSecond: closed.perSecond,
        paidPerSecond,
        relayPublishPerSecond,
        concurrency: t.concurrency,
        cpu: closedCpu,
      },
      gateway: { directRps: direct.perSecond, viaGatewayRps: viaGateway.perSecond },
      latency,
      steadyRelay,
      processes,
      ratios: {
        paidToRawOutbox: paidPerSecond / outboxTps,
        relayToRawPublish: relayPublishPerSecond / publishPerSecond,
        gatewayToBareProxy: bare.gateway / bare.proxied,
      },
    };
    await report(results);
  } finally {
    client.close();
    await system.stop();
  }
};

/** The relay at a steady rate in one mode; a message lost or repeated stops the bench. */
const steady = async (mode: SteadyRelayResult['mode']): Promise<SteadyRelayResult> => {
  const label = mode === 'relay' ? 'the relay alone, woken by NOTIFY' : 'publishing on commit, the relay as backstop';
  phase(`steady relay: ${STEADY_RATE} msg/s for ${t.steady} s, ${label}`);
  const result = await measureSteadyRelay({ mode, rate: STEADY_RATE, seconds: t.steady });
  const failures = steadyRelayFailures(result);
  if (failures.length > 0) throw new Error(`steady relay, mode ${mode}: ${failures.join('; ')}`);
  progress(
    `commit → consumer p50 ${result.latencyMs.p50.toFixed(1)} ms, ${result.commitsPerMessage.toFixed(2)} commits and ${result.indexEntriesPerMessage.toFixed(0)} index entries read per message`,
  );
  return result;
};

/** Waits until every one of `ids` has left NEW. */
const drained = async (system: ServerSystem, ids: string[]): Promise<void> => {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const left = await system.databases.orders.db.query<{ n: string }>(
      `SELECT count(*) AS n FROM orders WHERE id = ANY($1::uuid[]) AND status = 'NEW'`,
      [ids],
    );
    const n = Number(left.rows[0]?.n);
    if (n === 0) return;
    if (Date.now() > deadline) throw new Error(`${n} orders still NEW after 120 s`);
    progress(`waiting for ${n} orders to be paid or cancelled`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
};

const report = async (r: BenchResults): Promise<void> => {
  const text = table(r);
  phase('results');
  console.log(text);
  await mkdir(outDir, { recursive: true });
  await writeFile(join(outDir, 'results.json'), `${JSON.stringify(r, null, 2)}\n`);
  await writeFile(join(outDir, 'chart.svg'), chart(r));
  const m = r.machine;
  await writeFile(
    join(outDir, 'README.md'),
    `# Benchmark results\n\nLatest \`npm run bench${[r.mode === 'quick' ? ' --quick' : '', r.instances === undefined ? '' : ` --instances ${r.instances}`].join('').replace(/^ /, ' -- ')}\` (${r.when}), on ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, ${m.os}, Node ${m.node}; Postgres and RabbitMQ on the same machine.\n\n![latency and throughput](chart.svg)\n\n${text}\n\nRaw figures come from the same run: an outbox-shaped transaction from Node \`pg\` (order row, outbox row, NOTIFY), \`amqplib\` publishing persistent messages with one confirm wait per 200, and a bare Koa app behind a bare keep-alive koa-proxies proxy. Accepted → final latency comes from the orders database's own timestamps (\`updated_at − created_at\`); send → 201 is measured from each request's scheduled send time (open loop, no coordinated omission). Load generator, services and servers share the machine's cores. CPU per order comes from \`/proc\`: each GoZon process, every local \`postgres\` and \`beam.smp\` (RabbitMQ) process and the load generator (this process), from the first order sent until the last one is final, divided by the orders; cores busy is the whole machine's share over the same span. The steady relay rows come from a fresh orders database and vhost of their own, before the services start: one payment request per transaction at a fixed rate (open loop), either appended by the bench with a NOTIFY per commit while the relay runs alone in a process of its own (\`HeldRelay\` as the services wire it on Postgres, woken by \`LISTEN\`), or appended and published on commit by a process of its own, the relay as its backstop; commit → consumer runs from each transaction's commit to the bench's consumer receiving the message, on the machine's monotonic clock; database commits and index entries read are differences of \`pg_stat_database.xact_commit\` and \`pg_stat_user_indexes.idx_tup_read\` for that database, read once every connection to it is closed and the counters have settled (so they include the relay's start and stop, a few commits); CPU per message is that process's, every \`postgres\` and \`beam.smp\` process's and the bench's, from the first append to the last message consumed. The targets are issue 18's, each computed from this run alone. The services log at \`info\`, as they run, each to a file of its own (\`--pipe-output\` pipes their output through the load generator instead).\n`,
  );
  console.log(`\nwritten: ${join(outDir, 'results.json')}, chart.svg, README.md`);
};

main().catch((err: unknown) => {
  // Interrupted, the run fails as what it measures goes away: the signal's cleanup exits.
  if (endingBySignal()) return;
  console.error(err);
  process.exit(1);
});
