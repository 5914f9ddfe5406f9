// The apps' integration specs' scratch resources: testkit databases and vhosts, opened with the adapters.
import { migrate, PgDatabase, type Service } from '@gozon/adapters/postgres';
import { defaultTopology, fromAmqp, RabbitConnection, RabbitQueueTools } from '@gozon/adapters/rabbitmq';
import { createTestVhost, openScratchDatabase, type OpenedDatabase, type TestVhost } from '@gozon/testkit';

/** A database of its own; `drop` closes the pool and deletes the database. */
export type TestDatabase = OpenedDatabase<PgDatabase>;

/** Creates an empty database with a unique name and, given a service, migrates it. */
export const createTestDatabase = (service: Service | null): Promise<TestDatabase> =>
  openScratchDatabase(
    service,
    (url) => PgDatabase.connect(url, { max: 10 }),
    (db) => (service ? migrate(db, service) : Promise.resolve()),
  );

/** A fresh vhost with the GoZon topology declared and an open connection to it. */
export interface RabbitTestBed {
  readonly vhost: TestVhost;
  readonly connection: RabbitConnection;
  readonly queues: RabbitQueueTools;
  /** Takes one message off a queue, as the broker holds it. */
  getRaw(queue: string): Promise<ReturnType<typeof fromAmqp>>;
  close(): Promise<void>;
}

export const createRabbitTestBed = async (): Promise<RabbitTestBed> => {
  const vhost = await createTestVhost();
  const connection = new RabbitConnection({ url: vhost.url, topology: defaultTopology, minBackoffMs: 50 });
  const close = async (): Promise<void> => {
    await connection.close();
    await vhost.delete();
  };
  try {
    await connection.open();
  } catch (err) {
    await close().catch(() => undefined);
    throw err;
  }
  const getRaw = async (queue: string): Promise<ReturnType<typeof fromAmqp>> => {
    const channel = await connection.current().createChannel();
    try {
      const message = await channel.get(queue, { noAck: true });
      if (message === false) throw new Error(`queue ${queue} is empty`);
      return fromAmqp(message);
    } finally {
      await channel.close();
    }
  };
  return { vhost, connection, queues: new RabbitQueueTools(connection), getRaw, close };
};
