import type { DeliveryCounter } from '@gozon/core';
import type { InMemoryDatabase } from './database.js';

/** Redelivery counts in an in-memory database, outside its transactions (as on Postgres). */
export class InMemoryDeliveryCounter implements DeliveryCounter {
  constructor(private readonly db: InMemoryDatabase) {}

  async count(consumer: string, messageId: string): Promise<number> {
    // No await before the write: concurrent counts of one message each get their own number.
    const key = JSON.stringify([consumer, messageId]);
    const redeliveries = (this.db.deliveryAttempts.get(key)?.redeliveries ?? 0) + 1;
    this.db.deliveryAttempts.set(key, { redeliveries, lastSeenAt: new Date() });
    return redeliveries;
  }
}
