import {
  ApplyPaymentOutcome,
  GetOrder,
  ListOrders,
  PlaceOrder,
  Routes,
  type Clock,
  type IdGenerator,
  type OrderQueries,
  type OrderSettled,
  type OrdersTx,
  type UnitOfWork,
} from '@gozon/core';
import type { MessageSubscriber } from '@gozon/messaging';
import { running, type HandlerWrapper, type Running } from './consumers.js';
import type { DispatchStrategy } from './dispatch.js';

/** What the orders service runs on. */
export interface OrdersPorts {
  /** Its unit of work, appending as `DispatchStrategy.append` says. */
  readonly uow: UnitOfWork<OrdersTx>;
  readonly queries: OrderQueries;
  readonly subscriber: MessageSubscriber;
  readonly clock: Clock;
  readonly ids: IdGenerator;
}

export interface OrdersOptions {
  readonly handlers?: HandlerWrapper;
  /** Told of each order settled (metrics). */
  readonly onOrderSettled?: (order: OrderSettled) => void;
}

/** The orders service, composed: its use cases, and start/stop for what runs beside them. */
export interface OrdersService extends Running {
  readonly placeOrder: PlaceOrder;
  readonly getOrder: GetOrder;
  readonly listOrders: ListOrders;
  readonly applyPaymentOutcome: ApplyPaymentOutcome;
}

/** The one way the orders service is put together: by the services, the in-memory system and the integration harness. */
export const composeOrders = (
  ports: OrdersPorts,
  dispatch: DispatchStrategy,
  options: OrdersOptions = {},
): OrdersService => {
  const applyPaymentOutcome = new ApplyPaymentOutcome(ports.uow, ports.clock, options.onOrderSettled);
  return {
    placeOrder: new PlaceOrder(ports.uow, ports.clock, ports.ids),
    getOrder: new GetOrder(ports.queries),
    listOrders: new ListOrders(ports.queries),
    applyPaymentOutcome,
    ...running(dispatch, ports.subscriber, Routes.paymentStatus, applyPaymentOutcome, options.handlers),
  };
};
