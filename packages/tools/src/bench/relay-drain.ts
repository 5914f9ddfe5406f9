import { defaultRelayOptions, HeldRelay, LeasedRelay } from '@gozon/messaging';
import { ordersUnitOfWork, PgOutboxStore, pgOutboxHold } from '@gozon/adapters/postgres';
import { defaultTopology, RabbitConnection, RabbitPublisher } from '@gozon/adapters/rabbitmq';
import { createTestDatabase, createTestVhost } from '../support/scratch.js';
import { RELAY_CONCURRENCY } from '@gozon/apps/internals';
import { benchPaymentRequest } from './steady-appends.js';

/**
 * The relay as the services run it (Postgres outbox store, confirming RabbitMQ publisher, the
 * default batch size), draining a backlog of `messages`: read (or claimed), published, confirmed,
 * marked. `lead: false` drains it as relays did before holding the outbox alone: claimed with leases.
 */
export const relayDrainRate = async (messages: number, options: { lead?: boolean } = {}): Promise<number> => {
  const database = await createTestDatabase('orders');
  const vhost = await createTestVhost();
  const connection = new RabbitConnection({ url: vhost.url, topology: defaultTopology });
  try {
    await connection.open();
    const uow = ordersUnitOfWork(database.db, { outboxChannel: null });
    for (let filled = 0; filled < messages; filled += 500) {
      await uow.run(async (tx) => {
        for (let i = 0; i < Math.min(500, messages - filled); i += 1)
          await tx.outbox.append(benchPaymentRequest('bench-relay'));
      });
    }
    await database.db.query('ANALYZE outbox');
    const publisher = new RabbitPublisher(connection);
    const store = new PgOutboxStore(database.db);
    const relay =
      (options.lead ?? true)
        ? new HeldRelay(store, pgOutboxHold(database.db), publisher, defaultRelayOptions)
        : new LeasedRelay(store, publisher, defaultRelayOptions);
    const started = performance.now();
    let published = 0;
    // As many steps at once as a service runs, each until the outbox is empty.
    await Promise.all(
      Array.from({ length: RELAY_CONCURRENCY }, async () => {
        for (let n = await relay.execute(); n > 0; n = await relay.execute()) published += n;
      }),
    );
    const rate = published / ((performance.now() - started) / 1000);
    // Marks the last batch and gives the outbox up (its lock's session), as a stopping service does.
    await relay.flush();
    await publisher.close();
    return rate;
  } finally {
    await connection.close();
    await vhost.delete();
    await database.drop();
  }
};
