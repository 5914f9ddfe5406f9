// The tools' scratch resources: testkit databases and vhosts, opened with GoZon's own adapters.
import { Routes } from '@gozon/core';
import { migrate, PgDatabase, type Service } from '@gozon/adapters/postgres';
import { defaultTopology, RabbitConnection, RabbitQueueTools } from '@gozon/adapters/rabbitmq';
import * as testkit from '@gozon/testkit';
import {
  createTestVhost,
  openScratchDatabase,
  type OpenedDatabase,
  type ServiceUsers,
  type TestVhost,
} from '@gozon/testkit';

export { addBrokerUser, createTestVhost, deleteBrokerUser, rabbitmqctl } from '@gozon/testkit';
export type { BrokerUser, ServiceUsers, TestVhost } from '@gozon/testkit';

/** A database of its own; `drop` closes the pool and deletes the database. */
export type TestDatabase = OpenedDatabase<PgDatabase>;

/** Creates an empty database with a unique name and, given a service, migrates it. */
export const createTestDatabase = (service: Service | null): Promise<TestDatabase> =>
  openScratchDatabase(
    service,
    (url) => PgDatabase.connect(url, { max: 10 }),
    (db) => (service ? migrate(db, service) : Promise.resolve()),
  );

/** The two services' users of a vhost, each with only the permissions it needs. */
export const createServiceUsers = (vhost: TestVhost): Promise<ServiceUsers> =>
  testkit.createServiceUsers(vhost, { orders: Routes.orderPayments, payments: Routes.paymentStatus });

/** A fresh vhost with the GoZon topology declared and an open connection to it. */
export interface RabbitTestBed {
  readonly vhost: TestVhost;
  readonly connection: RabbitConnection;
  readonly queues: RabbitQueueTools;
  /** Opens another connection to the same vhost, closed along with the bed. */
  connect(): Promise<RabbitConnection>;
  close(): Promise<void>;
}

export const createRabbitTestBed = async (): Promise<RabbitTestBed> => {
  const vhost = await createTestVhost();
  const connections: RabbitConnection[] = [];
  const connect = async (): Promise<RabbitConnection> => {
    const connection = new RabbitConnection({ url: vhost.url, topology: defaultTopology });
    connections.push(connection);
    await connection.open();
    return connection;
  };
  const close = async (): Promise<void> => {
    await Promise.all(connections.map((c) => c.close()));
    await vhost.delete();
  };
  try {
    const connection = await connect();
    return { vhost, connection, queues: new RabbitQueueTools(connection), connect, close };
  } catch (err) {
    await close().catch(() => undefined);
    throw err;
  }
};
