import { expect } from 'chai';
import { FixedClock, randomIds, Routes } from '@gozon/core';
import type { MessageSubscriber } from '@gozon/messaging';
import { InMemoryDatabase } from '../in-memory/database.js';
import { InMemoryAccountQueries, InMemoryOrderQueries } from '../in-memory/queries.js';
import { InMemoryUnitOfWork } from '../in-memory/unit-of-work.js';
import { announcedAppend } from '../postgres/outbox.js';
import { composeOrders, composePayments, type DispatchStrategy } from './index.js';

/** A dispatch and a subscriber that write down what happens to them, in order. */
const recorder = () => {
  const events: string[] = [];
  const dispatch: DispatchStrategy = {
    append: announcedAppend(),
    wake: () => void events.push('wake'),
    start: () => void events.push('dispatch started'),
    stop: async () => void events.push('dispatch stopped'),
  };
  const subscriber: MessageSubscriber = {
    subscribe: async (queue) => {
      events.push(`consuming ${queue}`);
      return { close: async () => void events.push(`closed ${queue}`) };
    },
  };
  return { events, dispatch, subscriber };
};

describe('composition: one way to put each service together', () => {
  const db = new InMemoryDatabase();
  const ports = { uow: new InMemoryUnitOfWork(db), clock: new FixedClock(), ids: randomIds };

  it('orders: starts its dispatch before consuming payment outcomes, and stops consuming before its dispatch', async () => {
    const { events, dispatch, subscriber } = recorder();
    const orders = composeOrders({ ...ports, subscriber, queries: new InMemoryOrderQueries(db) }, dispatch);
    await orders.start();
    await orders.stop();
    expect(events).to.deep.equal([
      'dispatch started',
      `consuming ${Routes.paymentStatus}`,
      `closed ${Routes.paymentStatus}`,
      'dispatch stopped',
    ]);
  });

  it('payments: the same, around the consumer of payment requests', async () => {
    const { events, dispatch, subscriber } = recorder();
    const payments = composePayments({ ...ports, subscriber, queries: new InMemoryAccountQueries(db) }, dispatch);
    await payments.start();
    await payments.stop();
    expect(events).to.deep.equal([
      'dispatch started',
      `consuming ${Routes.orderPayments}`,
      `closed ${Routes.orderPayments}`,
      'dispatch stopped',
    ]);
  });
});
