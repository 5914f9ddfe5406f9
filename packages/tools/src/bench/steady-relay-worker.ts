// The process the steady-relay measurement starts, so that the CPU time it reads is this part's
// alone: the relay of a service on Postgres and RabbitMQ (mode `relay`), or a service process that
// appends and publishes on commit with the relay as its backstop (mode `commit`). Wired as
// packages/apps wires a service: a held relay with the default options, the services' loop, woken
// by a LISTEN connection. Driven over IPC by steady-relay-run.ts.
import { defaultRelayOptions, HeldRelay, type RelayLoopOptions } from '@gozon/messaging';
import { PublishOnCommit, RelayAlone, type DispatchStrategy } from '@gozon/adapters/composition';
import { ordersUnitOfWork, PgDatabase, PgOutboxListener, PgOutboxStore, pgOutboxHold } from '@gozon/adapters/postgres';
import { defaultTopology, RabbitConnection, RabbitPublisher } from '@gozon/adapters/rabbitmq';
import { RELAY_LOOP } from '@gozon/apps/internals';
import { appendAtRate } from './steady-appends.js';

export interface WorkerSetup {
  readonly kind: 'setup';
  readonly mode: 'relay' | 'commit';
  readonly databaseUrl: string;
  readonly vhostUrl: string;
}

/** What the bench process tells this one: how to wire itself, to append (mode commit), to stop. */
export type ToWorker = WorkerSetup | { kind: 'append'; rate: number; seconds: number } | { kind: 'stop' };

/** What this process answers: wired and running; appended (commit times as decimal ns); stopped; failed. */
export type FromWorker =
  | { kind: 'ready' }
  | { kind: 'appended'; committed: number; failed: number }
  | { kind: 'stopped'; committed: Array<[string, string]> }
  | { kind: 'failed'; error: string };

const SERVICE_RELAY_LOOP: RelayLoopOptions = RELAY_LOOP;

// Resolves once the message is written: the answer to `stop` is long (a pair per message).
const send = (message: FromWorker): Promise<void> =>
  new Promise((resolve, reject) => process.send?.(message, undefined, {}, (err) => (err ? reject(err) : resolve())));
const warn = (what: string) => (err: unknown) => process.stderr.write(`steady-relay worker: ${what}: ${String(err)}\n`);

const wire = async (setup: WorkerSetup) => {
  // As a service opens its database on a Postgres server (apps' infrastructures.ts).
  const db = PgDatabase.connect(setup.databaseUrl, { max: 10, queryTimeoutMs: 5_000 });
  const connection = new RabbitConnection({ url: setup.vhostUrl, topology: defaultTopology });
  await connection.open();
  const publisher = new RabbitPublisher(connection);
  const store = new PgOutboxStore(db);
  const step = new HeldRelay(store, pgOutboxHold(db), publisher, defaultRelayOptions);
  const loop = { ...SERVICE_RELAY_LOOP, onError: warn('relay step failed') };
  const dispatch: DispatchStrategy =
    setup.mode === 'relay'
      ? new RelayAlone(step, loop)
      : new PublishOnCommit(store, publisher, step, loop, { onError: warn('publishing on commit failed') });
  const listener = new PgOutboxListener(setup.databaseUrl, () => dispatch.wake(), {
    onError: warn('outbox listener'),
  });
  // As a service starts: listening first, then its dispatch; it stops in the reverse order.
  await listener.start();
  dispatch.start();
  const stop = async (): Promise<void> => {
    await dispatch.stop();
    await listener.close();
    await publisher.close();
    await connection.close();
    await db.close();
  };
  return { uow: ordersUnitOfWork(db, { append: dispatch.append }), stop };
};

let wired: Awaited<ReturnType<typeof wire>> | undefined;
let committed = new Map<string, bigint>();

const handle = async (message: ToWorker): Promise<void> => {
  if (message.kind === 'setup') {
    wired = await wire(message);
    await send({ kind: 'ready' });
  } else if (message.kind === 'append') {
    if (!wired) throw new Error('append before setup');
    const appended = await appendAtRate(wired.uow, message.rate, message.seconds);
    committed = appended.committed;
    await send({ kind: 'appended', committed: committed.size, failed: appended.failed });
  } else {
    const stopping = wired;
    wired = undefined;
    await stopping?.stop();
    // The bench process disconnects once it has the answer; with nothing left open, this one ends.
    await send({ kind: 'stopped', committed: [...committed].map(([id, ns]) => [id, ns.toString()]) });
  }
};

process.on('message', (message: ToWorker) => {
  handle(message).catch((err: unknown) => {
    process.exitCode = 1;
    const error = err instanceof Error ? (err.stack ?? err.message) : String(err);
    send({ kind: 'failed', error }).catch(() => process.exit());
  });
});
// The bench process went away without stopping this one: nothing here is worth keeping.
process.on('disconnect', () => {
  if (!wired) return;
  const stopping = wired;
  wired = undefined;
  void stopping.stop().finally(() => process.exit());
});
