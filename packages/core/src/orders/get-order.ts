import { notFound } from '../shared/errors.js';
import { isUuid, OrderId } from '../shared/ids.js';
import { toOrderView, type OrderView } from './order-view.js';
import type { OrderQueries } from './ports.js';

export class GetOrder {
  constructor(private readonly queries: OrderQueries) {}

  async execute(id: string): Promise<OrderView> {
    // An id that is not a UUID names no order: that is a 404, not a malformed request.
    const order = isUuid(id) ? await this.queries.byId(OrderId(id)) : null;
    if (!order) throw notFound('order_not_found', `no order ${id}`);
    return toOrderView(order);
  }
}
