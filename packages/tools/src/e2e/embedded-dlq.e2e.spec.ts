import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readConfig } from '@gozon/apps/internals';
import { mintAccessToken } from '@gozon/apps/internals/provider';
import type { StoredDeadLetter } from '@gozon/messaging';
import { PgliteDatabase } from '@gozon/adapters/pglite';
import { PgDeadLetterStore } from '@gozon/adapters/postgres';
import { GozonClient } from './client.js';
import { freePort, GozonProcess } from './processes.js';

/** The amount whose payment hangs the payments service while the trigger below is in place. */
const POISON_AMOUNT = 4242;

// A payment of POISON_AMOUNT spins forever inside the embedded Postgres, which runs on the
// process's one thread: the process hangs for good, as one stuck in a bug would, until killed.
const HANG = `
CREATE FUNCTION e2e_hang() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.amount = ${POISON_AMOUNT} THEN
    LOOP
      PERFORM 1;
    END LOOP;
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER e2e_hang BEFORE INSERT ON payments FOR EACH ROW EXECUTE FUNCTION e2e_hang();
`;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe("the embedded default's poison guard and dead letters, with gozon dlq", function () {
  this.timeout(300_000);
  let dir: string;
  let dataDir: string;
  let env: NodeJS.ProcessEnv;
  let gateway: number;
  let running: GozonProcess | undefined;
  let api: GozonClient;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gozon-embedded-dlq-'));
    dataDir = join(dir, '.gozon-data');
    const [g, orders, payments, web] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    gateway = g;
    env = {
      GATEWAY_PORT: String(g),
      ORDERS_PORT: String(orders),
      PAYMENTS_PORT: String(payments),
      WEB_PORT: String(web),
      ORDERS_DATABASE_URL: '',
      PAYMENTS_DATABASE_URL: '',
      AMQP_URL: '',
      // The first time the message comes back after a crash, it is dead-lettered.
      GOZON_MAX_REDELIVERIES: '0',
    };
  });

  after(async () => {
    await running?.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  const start = async (): Promise<GozonProcess> => {
    running = new GozonProcess('all', env, `http://127.0.0.1:${gateway}/healthz`, dir);
    await running.start(120_000);
    return running;
  };

  const gozonDlq = async (...args: string[]): Promise<{ code: number | null; output: string }> => {
    const run = new GozonProcess('dlq', env, undefined, dir, args);
    await run.start();
    const code = await run.exited(60_000);
    return { code, output: run.output };
  };

  /** Works on the payments service's embedded database, with no gozon process running. */
  const onPayments = async <T>(work: (db: PgliteDatabase) => Promise<T>): Promise<T> => {
    const db = await PgliteDatabase.open(join(dataDir, 'payments'));
    try {
      return await work(db);
    } finally {
      await db.close();
    }
  };

  const count = async (db: PgliteDatabase, sql: string, value: string): Promise<number> =>
    Number((await db.query<{ n: string | number }>(sql, [value])).rows[0]?.n);

  /** Waits until the process stops answering: its one thread is stuck. */
  const hung = async (): Promise<void> => {
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const answered = await fetch(`http://127.0.0.1:${gateway}/healthz`, { signal: AbortSignal.timeout(1_000) })
        .then(() => true)
        .catch(() => false);
      if (!answered) return;
      await sleep(200);
    }
    throw new Error('gozon all kept answering: the poison message was not handled');
  };

  it('dead-letters a message that hangs its process into the table; it survives a restart, and gozon dlq replays it once', async () => {
    // A user with money, and the trap set in the payments database.
    let gozon = await start();
    api = new GozonClient(
      `http://127.0.0.1:${gateway}`,
      await mintAccessToken(readConfig({ ...env, GOZON_DATA_DIR: dataDir }), 'e2e-admin', true),
    );
    const user = await api.fundedUser(5000);
    await gozon.kill('SIGTERM');
    await onPayments((db) => db.exec(HANG));

    // The order is accepted; its payment hangs the process, which is killed as a supervisor would.
    gozon = await start();
    // Whether the 201 gets out before the process hangs does not matter: the order is committed.
    const placed = api
      .post('/orders', { user_id: user, amount: POISON_AMOUNT }, { 'Idempotency-Key': 'poison' })
      .catch(() => undefined);
    await hung();
    expect(await gozon.kill('SIGKILL')).to.equal(null);
    await placed;

    // Back up, the relay hands the payment request over again (once its lease ran out): the guard
    // counts it as a redelivery, past GOZON_MAX_REDELIVERIES, and dead-letters it unhandled.
    gozon = await start();
    await gozon.outputMatching(/dead-lettered as poison after 1 redeliveries/, 60_000);
    const [order] = await api.json<Array<{ id: string; status: string; amount: number }>>(
      api.get(`/orders?user_id=${user}`),
      200,
    );
    expect(order).to.include({ status: 'NEW', amount: POISON_AMOUNT });
    const orderId = order?.id ?? '';
    expect(await api.balance(user)).to.equal(5000);
    const metrics = await (await fetch(`http://127.0.0.1:${env['PAYMENTS_PORT']}/metrics`)).text();
    expect(metrics).to.match(/^gozon_queue_messages\{[^}]*queue="order\.payments\.dlq"[^}]*\} 1$/mu);
    expect(metrics).to.match(/^gozon_messages_dead_lettered_total\{[^}]*queue="order\.payments"[^}]*\} 1$/mu);
    // While gozon all has the embedded databases open, gozon dlq refuses and touches nothing.
    const refused = await gozonDlq('list');
    expect(refused.code).to.equal(3);
    expect(refused.output).to.match(/is in use by process \d+ \(gozon all\?\); stop it, then run gozon dlq again/);
    await gozon.kill('SIGTERM');

    // A restart does not lose it, nor hand the message over again.
    gozon = await start();
    await sleep(12_000); // longer than a relay's lease
    expect(gozon.output).to.not.match(/dead-lettered as poison/);
    expect((await api.getOrder(orderId)).status).to.equal('NEW');
    await gozon.kill('SIGTERM');

    const listed = await gozonDlq('list');
    expect(listed.code).to.equal(0);
    const line = listed.output.split('\n').find((l) => l.includes(`order ${orderId}`)) ?? '';
    expect(line).to.match(/^\S+ {2}order\.payments {2}payment\.requested {2}order /);
    expect(line).to.contain('dead-lettered as poison after 1 redeliveries');
    expect(listed.output).to.contain('1 dead-lettered message');
    const id = line.split(' ')[0] ?? '';
    const shown = await gozonDlq('show', id);
    expect(shown.code).to.equal(0);
    expect(shown.output).to.contain(`"order_id": "${orderId}"`);

    // Its bug fixed (the trap taken away), it is replayed: paid once.
    const [letter] = await onPayments(async (db) => {
      await db.exec('DROP TRIGGER e2e_hang ON payments');
      return new PgDeadLetterStore(db).list();
    });
    const replayed = await gozonDlq('replay', id);
    expect(replayed.code).to.equal(0);
    expect(replayed.output).to.contain(`replayed ${id}`).and.contain('1 replayed');
    expect((await gozonDlq('list')).output).to.contain('0 dead-lettered messages');
    gozon = await start();
    const [final] = await api.final([orderId], 30_000);
    expect(final?.status).to.equal('FINISHED');
    expect(await api.balance(user)).to.equal(5000 - POISON_AMOUNT);
    await gozon.kill('SIGTERM');

    // The same message replayed again changes nothing: the inbox absorbs it.
    await onPayments((db) => new PgDeadLetterStore(db).add(letter as StoredDeadLetter));
    expect((await gozonDlq('replay', '--all')).output).to.contain(`replayed ${id}`);
    await onPayments(async (db) => {
      expect(await count(db, 'SELECT count(*) AS n FROM payments WHERE order_id = $1', orderId)).to.equal(1);
      expect(await count(db, 'SELECT count(*) AS n FROM inbox WHERE message_id = $1', id)).to.equal(1);
      expect(await count(db, 'SELECT count(*) AS n FROM outbox WHERE causation_id = $1', id)).to.equal(1);
    });
    gozon = await start();
    await sleep(1_000);
    expect(await api.balance(user)).to.equal(5000 - POISON_AMOUNT);
    expect((await api.getOrder(orderId)).status).to.equal('FINISHED');
    await gozon.kill('SIGTERM');
    expect(await gozonDlq('replay', id)).to.deep.include({ code: 1 });
  });
});
