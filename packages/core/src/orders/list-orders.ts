import { actingFor, type Caller } from '../shared/actor.js';
import { OrderPosition, pageLimit, type OrderPage } from './order-page.js';
import { toOrderView, type OrderView } from './order-view.js';
import type { OrderQueries } from './ports.js';

/** Which page to list, as a request gives it: a limit (default 50) and where the last page ended. */
export interface ListPage {
  readonly limit?: unknown;
  readonly after?: unknown;
}

export class ListOrders {
  constructor(private readonly queries: OrderQueries) {}

  /**
   * A page of a user's orders, newest first: the caller's own unless it names another
   * (administrators only). A position says only where to resume, never whose orders: the user
   * is decided here, as for the first page.
   */
  async execute(caller: Caller, userId?: unknown, page: ListPage = {}): Promise<OrderPage<OrderView>> {
    const user = actingFor(caller, userId);
    const limit = pageLimit(page.limit);
    const after = page.after === undefined ? undefined : OrderPosition(page.after);
    const { orders, next } = await this.queries.listByUser(user, after ? { limit, after } : { limit });
    return { orders: orders.map(toOrderView), ...(next ? { next } : {}) };
  }
}
