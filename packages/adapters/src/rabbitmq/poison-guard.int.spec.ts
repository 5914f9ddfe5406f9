import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { Routes } from '@gozon/core';
import { aPaymentRequest, eventually } from '../contract/index.js';
import { createTestDatabase, type TestDatabase } from '../testing/postgres.js';
import { createRabbitTestBed, type RabbitTestBed } from '../testing/rabbitmq.js';
import type { CrashingConsumerArgs } from './poison-guard.spec.child.js';
import { RabbitPublisher } from './publisher.js';
import { deadLetterQueueOf } from './topology.js';

const queue = Routes.orderPayments;
const child = fileURLToPath(new URL('./poison-guard.spec.child.js', import.meta.url));

interface Entry {
  readonly pid: number;
  readonly event: string;
  readonly id?: string;
  readonly error?: string;
}

describe('poison guard on RabbitMQ and Postgres, with a consumer process that really crashes', function () {
  this.timeout(90_000);
  const maxRedeliveries = 2;
  let bed: RabbitTestBed;
  let database: TestDatabase;
  let dir: string;
  let running: ChildProcess | undefined;

  beforeEach(async () => {
    bed = await createRabbitTestBed();
    database = await createTestDatabase('payments');
    dir = await mkdtemp(join(tmpdir(), 'gozon-poison-'));
  });
  afterEach(async () => {
    running?.kill('SIGKILL');
    running = undefined;
    await bed.close();
    await database.drop();
    await rm(dir, { recursive: true, force: true });
  });

  const entries = async (log: string): Promise<Entry[]> =>
    (await readFile(log, 'utf8').catch(() => ''))
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Entry);

  /** Starts the consumer process; resolves with how it ended, once it does. */
  const start = (args: CrashingConsumerArgs): { process: ChildProcess; exit: Promise<NodeJS.Signals | number> } => {
    const proc = spawn(process.execPath, [child, JSON.stringify(args)], { stdio: ['ignore', 'ignore', 'inherit'] });
    running = proc;
    const exit = new Promise<NodeJS.Signals | number>((resolve) =>
      proc.once('exit', (code, signal) => resolve(signal ?? code ?? -1)),
    );
    return { process: proc, exit };
  };

  it('dead-letters the message after maxRedeliveries crashes, and the consumer stops crash-looping', async () => {
    const publisher = new RabbitPublisher(bed.connection);
    const slow = aPaymentRequest();
    const poison = aPaymentRequest();
    const args: CrashingConsumerArgs = {
      amqpUrl: bed.vhost.url,
      databaseUrl: database.url,
      queue,
      maxRedeliveries,
      poisonId: poison.envelope.id,
      slowId: slow.envelope.id,
      log: join(dir, 'consumer.log'),
    };
    // The slow one first: the crash finds it in flight, so it comes back redelivered too.
    await publisher.publish([slow, poison]);
    await publisher.close();
    const dlq = deadLetterQueueOf(queue);

    // A supervisor: restart the consumer each time it dies, until it stays up.
    let crashes = 0;
    let survivor: ReturnType<typeof start> | undefined;
    while (!survivor) {
      const started = start(args);
      let ended: NodeJS.Signals | number | undefined;
      void started.exit.then((how) => (ended = how));
      await eventually(
        async () => ended !== undefined || (await bed.queues.depth(dlq)) > 0,
        20_000,
        'the consumer to crash or the poison message to be dead-lettered',
      );
      if (ended === undefined) survivor = started;
      else {
        expect(ended, 'how the consumer ended').to.equal('SIGKILL');
        crashes += 1;
        expect(crashes, 'crashes').to.be.at.most(maxRedeliveries + 1);
      }
    }
    expect(crashes).to.equal(maxRedeliveries + 1);

    // A message published now is handled: the queue moves again.
    const next = aPaymentRequest();
    const again = new RabbitPublisher(bed.connection);
    await again.publish([next]);
    await again.close();
    await eventually(
      async () => (await entries(args.log)).some((e) => e.event === 'handled' && e.id === next.envelope.id),
      20_000,
      'the next message to be handled',
    );
    survivor.process.kill('SIGTERM');
    expect(await survivor.exit).to.equal(0);
    running = undefined;

    const log = await entries(args.log);
    const calls = (id: string) => log.filter((e) => e.event === 'call' && e.id === id).length;
    expect(calls(poison.envelope.id), 'handler calls for the poison message').to.equal(maxRedeliveries + 1);
    // The slow one may be handled twice (a crash can beat its ack to the wire), never dead-lettered.
    const handled = new Set(log.filter((e) => e.event === 'handled').map((e) => e.id));
    expect([...handled]).to.have.members([slow.envelope.id, next.envelope.id]);
    expect(log.filter((e) => e.event === 'dead-letter')).to.deep.equal([
      {
        pid: survivor.process.pid,
        event: 'dead-letter',
        id: poison.envelope.id,
        error: `dead-lettered as poison after ${maxRedeliveries + 1} redeliveries`,
      },
    ]);

    const dead = await bed.getRaw(dlq);
    expect(dead.properties.messageId).to.equal(poison.envelope.id);
    expect(dead.properties.type).to.equal(poison.envelope.type);
    expect(await bed.queues.depth(dlq)).to.equal(0);
    expect(await bed.queues.depth(queue)).to.equal(0);
    const { rows } = await database.db.query<{ message_id: string; redeliveries: number }>(
      'SELECT message_id, redeliveries FROM delivery_attempts WHERE consumer = $1',
      [queue],
    );
    expect(rows).to.deep.include({ message_id: poison.envelope.id, redeliveries: maxRedeliveries + 1 });
    expect(rows.find((r) => r.message_id === next.envelope.id)).to.equal(undefined);
  });
});
