// The outbox relay at a steady rate, the quiet path most shops live on (issue 18): what each
// message costs in database commits, index entries read and CPU time, and its commit → consumer
// latency. The part measured runs in a process of its own (steady-relay-worker.ts); this process
// makes the scratch database and vhost, consumes `order.payments`, and in mode `relay` appends.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Routes } from '@gozon/core';
import { migrate, ordersUnitOfWork, PgDatabase } from '@gozon/adapters/postgres';
import type { RabbitConnection } from '@gozon/adapters/rabbitmq';
import { onCleanup } from '@gozon/testkit';
import { createRabbitTestBed, createTestDatabase, type RabbitTestBed, type TestDatabase } from '../support/scratch.js';
import { percentile } from './http-client.js';
import { activityBetween, activitySnapshot } from './pg-activity.js';
import { cpuPerOrder, cpuSnapshot, type CpuPerOrder } from './process-stats.js';
import type { SteadyRelayResult } from './report.js';
import { appendAtRate, clockNs } from './steady-appends.js';
import type { FromWorker, ToWorker, WorkerSetup } from './steady-relay-worker.js';

export interface SteadyRelayOptions {
  readonly mode: 'relay' | 'commit';
  /** Messages per second, one per transaction. */
  readonly rate: number;
  readonly seconds: number;
}

const WORKER = fileURLToPath(new URL('./steady-relay-worker.js', import.meta.url));
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The next answer of `kind` from the worker; a failure it reports, its exit or `timeoutMs` reject. */
const answer = <K extends FromWorker['kind']>(
  child: ChildProcess,
  kind: K,
  timeoutMs: number,
): Promise<Extract<FromWorker, { kind: K }>> =>
  new Promise((resolve, reject) => {
    const done = (err: Error | undefined, message?: FromWorker): void => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve(message as Extract<FromWorker, { kind: K }>);
    };
    const onMessage = (message: FromWorker): void => {
      if (message.kind === kind) done(undefined, message);
      else if (message.kind === 'failed') done(new Error(`steady-relay worker failed: ${message.error}`));
    };
    const onExit = (code: number | null): void =>
      done(new Error(`steady-relay worker exited (${code}) before '${kind}'`));
    const timer = setTimeout(
      () => done(new Error(`steady-relay worker: no '${kind}' within ${timeoutMs} ms`)),
      timeoutMs,
    );
    child.on('message', onMessage);
    child.once('exit', onExit);
  });

/** The worker process, wired and running; `end` disconnects it and waits for it to exit. */
const startWorker = async (setup: WorkerSetup) => {
  const child = fork(WORKER, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const end = async (): Promise<void> => {
    unregister();
    if (child.connected) child.disconnect();
    const late = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(late);
  };
  // An interrupted run stops it too, rather than leave it on the database it drops.
  const unregister = onCleanup(`steady-relay worker (pid ${child.pid})`, end);
  const ask = <K extends FromWorker['kind']>(message: ToWorker, kind: K, timeoutMs: number) => {
    const answered = answer(child, kind, timeoutMs);
    child.send(message);
    return answered;
  };
  try {
    await ask(setup, 'ready', 30_000);
  } catch (err) {
    await end();
    throw err;
  }
  return { pid: child.pid ?? 0, ask, end };
};

/** Deliveries of `order.payments` as they arrive: the first receipt of each message, and repeats. */
const consume = async (connection: RabbitConnection) => {
  const channel = await connection.current().createChannel();
  await channel.prefetch(500);
  const received = new Map<string, bigint>();
  const counts = { duplicates: 0, unnamed: 0 };
  const { consumerTag } = await channel.consume(Routes.orderPayments, (message) => {
    if (!message) return;
    const at = clockNs();
    const id: unknown = message.properties.messageId;
    if (typeof id !== 'string') counts.unnamed += 1;
    else if (received.has(id)) counts.duplicates += 1;
    else received.set(id, at);
    channel.ack(message);
  });
  /** Waits until `expected` messages have arrived, or `deadline` (ms since the epoch) has come. */
  const until = async (expected: number, deadline: number): Promise<void> => {
    while (received.size < expected && Date.now() < deadline) await sleep(10);
  };
  const close = async (): Promise<void> => {
    await channel.cancel(consumerTag);
    await channel.close();
  };
  return { received, counts, until, close };
};

/** A scratch orders database, migrated over connections that are closed again (their statistics flushed). */
const migratedDatabase = async (): Promise<TestDatabase> => {
  // Made empty, so that its own pool never connects; the measurement opens its own connections.
  const database = await createTestDatabase(null);
  const migrating = PgDatabase.connect(database.url, { max: 1 });
  try {
    await migrate(migrating, 'orders');
  } catch (err) {
    await migrating.close();
    await database.drop();
    throw err;
  }
  await migrating.close();
  return database;
};

/** Appends from this process, as a service does with the relay alone: a NOTIFY with each commit. */
const appendHere = async (url: string, rate: number, seconds: number) => {
  const producer = PgDatabase.connect(url, { max: 10 });
  try {
    return await appendAtRate(ordersUnitOfWork(producer), rate, seconds);
  } finally {
    await producer.close();
  }
};

interface Window {
  readonly committed: ReadonlyMap<string, bigint>;
  readonly failedAppends: number;
  readonly startedNs: bigint;
  readonly cpu: CpuPerOrder;
}

/**
 * Runs the worker for one measured window, from the first append until the last message
 * arrived, and stops it: its connections are closed once this resolves.
 */
const measuredWindow = async (
  options: SteadyRelayOptions,
  setup: WorkerSetup,
  consumer: Awaited<ReturnType<typeof consume>>,
): Promise<Window> => {
  const worker = await startWorker(setup);
  try {
    // The hold taken and the first (empty) read done before the clock starts.
    await sleep(500);
    const pids = { [options.mode === 'relay' ? 'relay' : 'service']: worker.pid };
    const cpuBefore = await cpuSnapshot(pids);
    const startedNs = clockNs();
    let committed: Map<string, bigint> | undefined;
    let appended: { committed: number; failed: number };
    if (options.mode === 'relay') {
      const here = await appendHere(setup.databaseUrl, options.rate, options.seconds);
      committed = here.committed;
      appended = { committed: here.committed.size, failed: here.failed };
    } else {
      const append: ToWorker = { kind: 'append', rate: options.rate, seconds: options.seconds };
      appended = await worker.ask(append, 'appended', (options.seconds + 60) * 1_000);
    }
    // What has not arrived 30 s after the last append is counted lost (and fails the run).
    await consumer.until(appended.committed, Date.now() + 30_000);
    const cpu = cpuPerOrder(cpuBefore, await cpuSnapshot(pids), Math.max(1, appended.committed));
    const stopped = await worker.ask({ kind: 'stop' }, 'stopped', 30_000);
    // Mode commit: the worker timed the commits, on the same clock.
    committed ??= new Map(stopped.committed.map(([id, ns]) => [id, BigInt(ns)]));
    return { committed, failedAppends: appended.failed, startedNs, cpu };
  } finally {
    await worker.end();
  }
};

const summary = (
  options: SteadyRelayOptions,
  window: Window,
  consumer: Awaited<ReturnType<typeof consume>>,
  database: SteadyRelayResult['database'],
): SteadyRelayResult => {
  const latencies: number[] = [];
  let lastNs = window.startedNs;
  for (const [id, committedNs] of window.committed) {
    const receivedNs = consumer.received.get(id);
    if (receivedNs === undefined) continue;
    latencies.push(Number(receivedNs - committedNs) / 1e6);
    if (receivedNs > lastNs) lastNs = receivedNs;
  }
  latencies.sort((a, b) => a - b);
  const messages = window.committed.size;
  const per = Math.max(1, messages);
  return {
    mode: options.mode,
    rate: options.rate,
    seconds: options.seconds,
    messages,
    lost: messages - latencies.length,
    duplicates: consumer.counts.duplicates,
    unexpected: consumer.received.size - latencies.length + consumer.counts.unnamed,
    failedAppends: window.failedAppends,
    windowSeconds: Number(lastNs - window.startedNs) / 1e9,
    latencyMs: {
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      max: latencies[latencies.length - 1] ?? Number.NaN,
    },
    commitsPerMessage: database.commits / per,
    indexEntriesPerMessage: database.indexEntriesRead / per,
    database,
    cpu: window.cpu,
  };
};

/**
 * Measures one mode at a steady rate on a fresh scratch orders database and vhost, dropped
 * afterwards. The database's counters are read before the worker starts and after it and every
 * other connection to the database are closed: they include the relay's start (taking the hold,
 * its first read) and stop (its last mark), a few commits in all.
 */
export const measureSteadyRelay = async (options: SteadyRelayOptions): Promise<SteadyRelayResult> => {
  const database = await migratedDatabase();
  let bed: RabbitTestBed | undefined;
  try {
    bed = await createRabbitTestBed();
    const consumer = await consume(bed.connection);
    const before = await activitySnapshot(database);
    const setup: WorkerSetup = {
      kind: 'setup',
      mode: options.mode,
      databaseUrl: database.url,
      vhostUrl: bed.vhost.url,
    };
    const window = await measuredWindow(options, setup, consumer);
    // Repeats that come late (a backstop publishing again, the last mark) are counted too.
    await sleep(200);
    await consumer.close();
    const after = await activitySnapshot(database);
    return summary(options, window, consumer, activityBetween(before, after));
  } finally {
    await bed?.close();
    await database.drop();
  }
};
