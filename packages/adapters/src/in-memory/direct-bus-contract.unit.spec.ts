import { LeasedRelay } from '@gozon/messaging';
import { RelayAlone } from '../composition/index.js';
import { describeBrokerContract } from '../contract/index.js';
import { InMemoryDatabase } from './database.js';
import { DirectBus } from './direct-bus.js';
import { InMemoryOutboxStore } from './outbox-store.js';
import { InMemoryUnitOfWork } from './unit-of-work.js';

// The direct bus keeps no queue of its own: the outbox is its queue, and the relay its retry. So it
// is tried as it runs behind `npm start`: published through an outbox that its relay drains.
describeBrokerContract(
  'direct bus',
  async (retry) => {
    const bus = new DirectBus(undefined, undefined, retry);
    const db = new InMemoryDatabase();
    const uow = new InMemoryUnitOfWork(db);
    const relay = new RelayAlone(
      new LeasedRelay(new InMemoryOutboxStore(db), bus, { batchSize: 200, leaseMs: 1_000 }),
      {
        pollMs: 20,
        minBackoffMs: 5,
        maxBackoffMs: 50,
      },
    );
    const unlisten = db.onOutboxCommit(() => relay.wake());
    relay.start();
    return {
      publisher: {
        publish: (messages) =>
          uow.run(async (tx) => {
            for (const message of messages) await tx.outbox.append(message);
          }),
      },
      subscriber: bus,
      injectRaw: (queue, message) => bus.injectRaw(queue, message),
      deadLetters: async (queue) => {
        const taken = (await bus.deadLetters.list()).filter((letter) => letter.queue === queue);
        for (const letter of taken) await bus.deadLetters.remove(letter.id);
        return taken.map((letter) => letter.message);
      },
      close: async () => {
        unlisten();
        await relay.stop();
      },
    };
  },
  { oneAtATime: true },
);
