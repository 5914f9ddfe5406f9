// A consumer process for `poison-guard.int.spec.ts`: the real connection, subscriber and Postgres
// counter, and a handler that kills its own process (SIGKILL, as an OOM kill would) on the poison
// message. Every handler call and report is appended to a log file first, synchronously, so the
// parent can count them across crashes. Started with one JSON argument; SIGTERM stops it cleanly.
import { appendFileSync } from 'node:fs';
import { PgDatabase, PgDeliveryCounter } from '../postgres/index.js';
import { RabbitConnection } from './connection.js';
import { RabbitSubscriber } from './subscriber.js';

export interface CrashingConsumerArgs {
  readonly amqpUrl: string;
  readonly databaseUrl: string;
  readonly queue: string;
  readonly maxRedeliveries: number;
  /** The message whose handling kills the process. */
  readonly poisonId: string;
  /** A message that takes a while, so a crash finds it in flight. */
  readonly slowId: string;
  readonly log: string;
}

const args = JSON.parse(process.argv[2] ?? '{}') as CrashingConsumerArgs;
const record = (entry: Record<string, unknown>): void =>
  appendFileSync(args.log, `${JSON.stringify({ pid: process.pid, ...entry })}\n`);

const db = PgDatabase.connect(args.databaseUrl, { max: 2 });
const connection = new RabbitConnection({ url: args.amqpUrl, topology: { exchange: 'gozon', queues: [args.queue] } });
await connection.open();
const subscriber = new RabbitSubscriber(connection, {
  prefetch: 10,
  poison: { counter: new PgDeliveryCounter(db), maxRedeliveries: args.maxRedeliveries },
  onFailure: (err, action) =>
    record({
      event: action,
      error: err instanceof Error ? err.message : String(err),
      id: (err as { messageId?: string }).messageId,
    }),
});
const subscription = await subscriber.subscribe(args.queue, async (message) => {
  record({ event: 'call', id: message.id });
  if (message.id === args.poisonId) process.kill(process.pid, 'SIGKILL');
  if (message.id === args.slowId) await new Promise((resolve) => setTimeout(resolve, 300));
  record({ event: 'handled', id: message.id });
});
record({ event: 'ready' });

process.once('SIGTERM', () => {
  void (async () => {
    await subscription.close();
    await connection.close();
    await db.close();
    process.exit(0);
  })();
});
