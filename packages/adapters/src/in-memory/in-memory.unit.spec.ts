import {
  describeBrokerContract,
  describeDeadLetterStoreContract,
  describeDeliveryCounterContract,
  describeFlowContract,
  describeIdempotencyContract,
  describeInboxContract,
  describeOrderStoreContract,
  describeOutboxContract,
  describePaymentStoreContract,
} from '../contract/index.js';
import {
  InMemoryAccountQueries,
  InMemoryBroker,
  InMemoryDatabase,
  InMemoryDeadLetterStore,
  InMemoryDeliveryCounter,
  InMemoryOrderQueries,
  InMemoryOutboxStore,
  InMemoryPublisher,
  InMemorySubscriber,
  InMemorySystem,
  InMemoryUnitOfWork,
} from './index.js';
import { Routes } from '@gozon/core';

const store = () => {
  const db = new InMemoryDatabase();
  return { db, uow: new InMemoryUnitOfWork(db), outbox: new InMemoryOutboxStore(db), close: async () => {} };
};

describeOrderStoreContract('in-memory', async () => {
  const s = store();
  return { ...s, queries: new InMemoryOrderQueries(s.db) };
});
describePaymentStoreContract('in-memory', async () => {
  const s = store();
  return { ...s, queries: new InMemoryAccountQueries(s.db) };
});
describeOutboxContract('in-memory', async () => store());
describeInboxContract('in-memory', async () => store());
describeIdempotencyContract('in-memory', async () => store());
describeDeliveryCounterContract('in-memory', async () => {
  const s = store();
  return {
    ...s,
    counter: new InMemoryDeliveryCounter(s.db),
    counterWithEpisode: (ms: number) => new InMemoryDeliveryCounter(s.db, ms),
  };
});
describeDeadLetterStoreContract('in-memory', async () => ({ ...store(), deadLetters: new InMemoryDeadLetterStore() }));

describeBrokerContract('in-memory', async (retry) => {
  const broker = new InMemoryBroker();
  broker.declareQueue(Routes.orderPayments);
  broker.declareQueue(Routes.paymentStatus);
  return {
    publisher: new InMemoryPublisher(broker),
    subscriber: new InMemorySubscriber(broker, { retry, prefetch: 20 }),
    injectRaw: async (queue, message) => broker.inject(queue, message),
    deadLetters: async (queue) => broker.take(`${queue}.dlq`),
    close: async () => {},
  };
});

describeFlowContract('in-memory', async () => {
  const system = new InMemorySystem({ retry: { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 20 } });
  await system.start();
  return {
    placeOrder: system.placeOrder,
    getOrder: system.getOrder,
    listOrders: system.listOrders,
    createAccount: system.createAccount,
    deposit: system.deposit,
    getBalance: system.getBalance,
    settle: () => system.settle(),
    duplicateEveryMessage: (on) => {
      system.broker.duplicateEveryMessage = on;
    },
    injectRaw: async (queue, message) => system.broker.inject(queue, message),
    deadLetters: async (queue) => system.broker.take(`${queue}.dlq`),
    close: () => system.stop(),
  };
});
