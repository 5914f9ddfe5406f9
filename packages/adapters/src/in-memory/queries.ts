import type { AccountQueries, AccountSnapshot, OrderQueries, OrderSnapshot } from '@gozon/core';
import type { InMemoryDatabase } from './database.js';

export class InMemoryOrderQueries implements OrderQueries {
  constructor(private readonly db: InMemoryDatabase) {}

  byId(id: string): Promise<OrderSnapshot | null> {
    return this.db.read(() => {
      const row = this.db.orders.get(id);
      return row ? { ...row } : null;
    });
  }

  listByUser(userId: string): Promise<OrderSnapshot[]> {
    return this.db.read(() =>
      [...this.db.orders.values()]
        .filter((order) => order.userId === userId)
        .map((order) => ({ ...order }))
        // Newest first; ties (same millisecond) fall back to the id so the order is stable.
        .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : -1)),
    );
  }
}

export class InMemoryAccountQueries implements AccountQueries {
  constructor(private readonly db: InMemoryDatabase) {}

  byUser(userId: string): Promise<AccountSnapshot | null> {
    return this.db.read(() => {
      const row = this.db.accounts.get(userId);
      return row ? { ...row } : null;
    });
  }
}
