import {
  positionOf,
  type AccountQueries,
  type AccountSnapshot,
  type OrderPage,
  type OrderPosition,
  type OrderQueries,
  type OrderSnapshot,
  type PageRequest,
} from '@gozon/core';
import type { InMemoryDatabase } from './database.js';

export class InMemoryOrderQueries implements OrderQueries {
  constructor(private readonly db: InMemoryDatabase) {}

  byId(id: string): Promise<OrderSnapshot | null> {
    return this.db.read(() => {
      const row = this.db.orders.get(id);
      return row ? { ...row } : null;
    });
  }

  listByUser(userId: string, page: PageRequest): Promise<OrderPage> {
    return this.db.read(() => {
      const after = page.after;
      const listed = [...this.db.orders.values()]
        .filter((order) => order.userId === userId && (!after || listedAfter(positionOf(order), after)))
        .sort((a, b) => (listedAfter(positionOf(a), positionOf(b)) ? 1 : -1))
        // One more than asked for tells whether another page follows.
        .slice(0, page.limit + 1)
        .map((order) => ({ ...order }));
      const orders = listed.slice(0, page.limit);
      const last = orders.at(-1);
      return listed.length > page.limit && last ? { orders, next: positionOf(last) } : { orders };
    });
  }
}

/** Whether `a` comes after `b` in a listing (older, or as old with a smaller id), as Postgres orders them. */
const listedAfter = (a: OrderPosition, b: OrderPosition): boolean =>
  a.createdAt < b.createdAt || (a.createdAt === b.createdAt && a.id < b.id);

export class InMemoryAccountQueries implements AccountQueries {
  constructor(private readonly db: InMemoryDatabase) {}

  byUser(userId: string): Promise<AccountSnapshot | null> {
    return this.db.read(() => {
      const row = this.db.accounts.get(userId);
      return row ? { ...row } : null;
    });
  }
}
