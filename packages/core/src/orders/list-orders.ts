import { invalid } from '../shared/errors.js';
import { UserId } from '../shared/ids.js';
import { toOrderView, type OrderView } from './order-view.js';
import type { OrderQueries } from './ports.js';

export class ListOrders {
  constructor(private readonly queries: OrderQueries) {}

  /** A user's orders, newest first. */
  async execute(userId: unknown): Promise<OrderView[]> {
    if (userId === undefined || userId === '') throw invalid('user_id', 'user_id is required', 'missing_field');
    const orders = await this.queries.listByUser(UserId(userId));
    return orders.map(toOrderView);
  }
}
