import type { FailureReason } from '../messaging/messages.js';
import type { OrderSnapshot, OrderStatus } from './order.js';

/** An order as the contract shows it to clients. */
export interface OrderView {
  readonly id: string;
  readonly user_id: string;
  readonly amount: number;
  readonly description: string;
  readonly status: OrderStatus;
  readonly created_at: string;
  readonly updated_at: string;
  readonly failure_reason?: FailureReason;
}

export const toOrderView = (order: OrderSnapshot): OrderView => ({
  id: order.id,
  user_id: order.userId,
  amount: order.amount,
  description: order.description,
  status: order.status,
  created_at: order.createdAt.toISOString(),
  updated_at: order.updatedAt.toISOString(),
  ...(order.failureReason ? { failure_reason: order.failureReason } : {}),
});
