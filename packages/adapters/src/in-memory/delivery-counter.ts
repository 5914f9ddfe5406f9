import { DEFAULT_POISON_EPISODE_MS, type DeliveryCounter } from '@gozon/messaging';
import type { InMemoryDatabase } from './database.js';

/** Redelivery counts in an in-memory database, outside its transactions (as on Postgres). */
export class InMemoryDeliveryCounter implements DeliveryCounter {
  constructor(
    private readonly db: InMemoryDatabase,
    private readonly episodeMs: number = DEFAULT_POISON_EPISODE_MS,
  ) {}

  async count(consumer: string, messageId: string): Promise<number> {
    // No await before the write: concurrent counts of one message each get their own number.
    const key = JSON.stringify([consumer, messageId]);
    const now = new Date();
    const last = this.db.deliveryAttempts.get(key);
    const fresh = last !== undefined && now.getTime() - last.lastSeenAt.getTime() <= this.episodeMs;
    const redeliveries = fresh ? last.redeliveries + 1 : 1;
    this.db.deliveryAttempts.set(key, { redeliveries, lastSeenAt: now });
    return redeliveries;
  }

  async takeBack(consumer: string, messageId: string): Promise<void> {
    const key = JSON.stringify([consumer, messageId]);
    const last = this.db.deliveryAttempts.get(key);
    if (last && last.redeliveries > 0)
      this.db.deliveryAttempts.set(key, { ...last, redeliveries: last.redeliveries - 1 });
  }
}
