import { actingFor, type Caller } from '../shared/actor.js';
import { toOrderView, type OrderView } from './order-view.js';
import type { OrderQueries } from './ports.js';

export class ListOrders {
  constructor(private readonly queries: OrderQueries) {}

  /** A user's orders, newest first: the caller's own unless it names another (administrators only). */
  async execute(caller: Caller, userId?: unknown): Promise<OrderView[]> {
    const orders = await this.queries.listByUser(actingFor(caller, userId));
    return orders.map(toOrderView);
  }
}
