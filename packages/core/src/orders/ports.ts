import type { OrderId, UserId } from '../shared/ids.js';
import type { Inbox } from '../messaging/inbox.js';
import type { Outbox } from '../messaging/outbox.js';
import type { IdempotencyStore } from '../shared/idempotency.js';
import type { Order, OrderSnapshot } from './order.js';
import type { OrderPage, PageRequest } from './order-page.js';

/** Orders inside a transaction. */
export interface OrderRepository {
  /** The order, locked for the rest of the transaction, or null. */
  get(id: OrderId): Promise<Order | null>;
  /** Optional: the orders of those ids that exist, each locked as `get` locks it, in order of id. */
  getMany?(ids: readonly OrderId[]): Promise<Map<OrderId, Order>>;
  /**
   * Orders still NEW whose `askAgainAt` is at or before `now`, earliest first, at most `limit`, each
   * locked as `get` locks it; an order another transaction holds is skipped, not waited for.
   */
  dueToAskAgain(now: Date, limit: number): Promise<Order[]>;
  /** Inserts a new order or writes a changed one, as part of the transaction. */
  save(order: Order): Promise<void>;
}

/** The read side: plain snapshots, outside any transaction. */
export interface OrderQueries {
  /** One order, or null. */
  byId(id: OrderId): Promise<OrderSnapshot | null>;
  /**
   * A page of a user's orders, newest first (by creation, then id descending): at most
   * `page.limit`, only those after `page.after`, with `next` set when more follow.
   */
  listByUser(userId: UserId, page: PageRequest): Promise<OrderPage>;
}

/** What one orders-service transaction can touch. */
export interface OrdersTx {
  readonly orders: OrderRepository;
  readonly outbox: Outbox;
  readonly inbox: Inbox;
  readonly idempotency: IdempotencyStore;
}
