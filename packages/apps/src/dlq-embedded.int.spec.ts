import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { Routes } from '@gozon/core';
import { encodeMessage, type DeadLetter } from '@gozon/messaging';
import { aPaymentRequest } from '@gozon/adapters/contract';
import { migrate, PgDeadLetterStore } from '@gozon/adapters/postgres';
import { PgliteDatabase } from '@gozon/adapters/pglite';
import { readConfig } from './config.js';
import { IN_USE_EXIT_CODE, runDlq } from './dlq.js';

describe('gozon dlq on the embedded default: the dead_letters tables in GOZON_DATA_DIR', function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gozon-dlq-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const config = () =>
    readConfig({ GOZON_DATA_DIR: dir, AMQP_URL: '', ORDERS_DATABASE_URL: '', PAYMENTS_DATABASE_URL: '' });

  /** Runs `gozon dlq …` in this process: its exit code, what it printed and what it complained. */
  const dlq = async (...args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runDlq(
      args,
      config(),
      (t) => out.push(t),
      (t) => err.push(t),
    );
    return { code, output: out.join('\n'), stderr: err.join('\n') };
  };

  /** Opens the payments database as `gozon all` would leave it. */
  const payments = async (): Promise<PgliteDatabase> => {
    const db = await PgliteDatabase.open(join(dir, 'payments'));
    await migrate(db, 'payments');
    return db;
  };

  const withPayments = async <T>(work: (db: PgliteDatabase) => Promise<T>): Promise<T> => {
    const db = await payments();
    try {
      return await work(db);
    } finally {
      await db.close();
    }
  };

  const count = async (db: PgliteDatabase, sql: string, id: string): Promise<number> =>
    Number((await db.query<{ n: string | number }>(sql, [id])).rows[0]?.n);

  it('lists, shows and replays a dead letter; replayed again, the same message changes nothing', async () => {
    const request = aPaymentRequest();
    const id = request.envelope.id;
    const orderId = request.envelope.correlationId;
    const letter: DeadLetter = {
      queue: Routes.orderPayments,
      message: encodeMessage(request.envelope),
      reason: 'gave up after 5 attempts: a bug',
    };
    await withPayments(async (db) => {
      await new PgDeadLetterStore(db).add(letter);
      expect(await new PgDeadLetterStore(db).depth(Routes.orderPayments)).to.equal(1);
      expect(await new PgDeadLetterStore(db).depth(Routes.paymentStatus)).to.equal(0);
    });

    const listed = await dlq('list');
    expect(listed.code).to.equal(0);
    expect(listed.output).to.equal(
      `${id}  order.payments  payment.requested  order ${orderId}  gave up after 5 attempts: a bug  from (no userId)\n1 dead-lettered message`,
    );
    const shown = await dlq('show', id);
    expect(shown.code).to.equal(0);
    expect(shown.output).to.contain(`"order_id": "${orderId}"`).and.contain(`"messageId": "${id}"`);

    const replayed = await dlq('replay', id);
    expect(replayed).to.deep.include({ code: 0, output: `replayed ${id}\n1 replayed` });
    expect((await dlq('list')).output).to.equal('0 dead-lettered messages');
    const outcome = 'SELECT count(*) AS n FROM outbox WHERE causation_id = $1';
    await withPayments(async (db) => {
      // The payment was decided (no account: declined), and its outcome waits in the outbox for the relay.
      expect(await count(db, 'SELECT count(*) AS n FROM payments WHERE order_id = $1', orderId)).to.equal(1);
      expect(await count(db, 'SELECT count(*) AS n FROM inbox WHERE message_id = $1', id)).to.equal(1);
      expect(await count(db, outcome, id)).to.equal(1);
      await new PgDeadLetterStore(db).add(letter);
    });

    // The same message again: the inbox absorbs it.
    expect((await dlq('replay', '--all')).output).to.equal(`replayed ${id}\n1 replayed`);
    await withPayments(async (db) => {
      expect(await count(db, 'SELECT count(*) AS n FROM payments WHERE order_id = $1', orderId)).to.equal(1);
      expect(await count(db, 'SELECT count(*) AS n FROM inbox WHERE message_id = $1', id)).to.equal(1);
      expect(await count(db, outcome, id)).to.equal(1);
    });
    expect(await dlq('replay', id)).to.deep.include({ code: 1, output: '0 replayed' });
  });

  it('leaves a letter whose consumer fails on it again, and says so with exit code 1', async () => {
    const request = aPaymentRequest();
    const wire = encodeMessage(request.envelope);
    const message = { ...wire, body: new TextEncoder().encode('{"order_id":"not a uuid"}') };
    await withPayments((db) => new PgDeadLetterStore(db).add({ queue: Routes.orderPayments, message, reason: 'x' }));
    const replayed = await dlq('replay', '--all');
    expect(replayed.code).to.equal(1);
    expect(replayed.output).to.match(
      new RegExp(`^failed again ${request.envelope.id}: .+ \\(still dead-lettered\\)\n0 replayed, 1 failed again$`),
    );
    expect((await dlq('list')).output).to.contain('1 dead-lettered message');
  });

  it('refuses, touching nothing, while another process has the embedded databases open', async () => {
    const db = await payments();
    try {
      const refused = await dlq('list');
      expect(refused.code).to.equal(IN_USE_EXIT_CODE);
      expect(refused.output).to.equal('');
      expect(refused.stderr).to.equal(
        `gozon dlq: the embedded database in ${join(dir, 'payments')} is in use by process ${process.pid} (gozon all?); stop it, then run gozon dlq again`,
      );
    } finally {
      await db.close();
    }
    expect((await dlq('list')).code).to.equal(0);
  });

  it('finds no dead letters where no embedded database was ever made, and makes none', async () => {
    expect(await dlq('list')).to.deep.include({ code: 0, output: '0 dead-lettered messages' });
    expect(existsSync(join(dir, 'payments'))).to.equal(false);
  });
});
