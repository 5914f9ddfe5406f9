import { maySee, type Caller } from '../shared/actor.js';
import { notFound } from '../shared/errors.js';
import { isUuid, OrderId } from '../shared/ids.js';
import { checkText } from '../shared/text.js';
import { toOrderView, type OrderView } from './order-view.js';
import type { OrderQueries } from './ports.js';

export class GetOrder {
  constructor(private readonly queries: OrderQueries) {}

  /** One order of the caller's (anyone's for an administrator); another user's is not found. */
  async execute(caller: Caller, id: string): Promise<OrderView> {
    // Control characters or broken Unicode are a malformed request (400); any other id that is
    // not a UUID names no order: that is a 404.
    checkText(id, 'id');
    const order = isUuid(id) ? await this.queries.byId(OrderId(id)) : null;
    // Another user's order is not found, as one that does not exist: its id reveals nothing.
    if (!order || !maySee(caller, order.userId)) throw notFound('order_not_found', `no order ${id}`);
    return toOrderView(order);
  }
}
