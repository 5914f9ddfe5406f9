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
import type { MessageSubscriber, Subscription } from '@gozon/messaging';
import { consume, unwrapped, type HandlerWrapper } from './consumers.js';
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
export interface OrdersService {
  readonly placeOrder: PlaceOrder;
  readonly getOrder: GetOrder;
  readonly listOrders: ListOrders;
  readonly applyPaymentOutcome: ApplyPaymentOutcome;
  /** Starts the outbox's dispatch, then the consumer of payment outcomes. */
  start(): Promise<void>;
  /** Stops the consumer, then the dispatch (marking what it published). */
  stop(): Promise<void>;
}

/** The one way the orders service is put together: by the services, the in-memory system and the integration harness. */
export const composeOrders = (
  ports: OrdersPorts,
  dispatch: DispatchStrategy,
  options: OrdersOptions = {},
): OrdersService => {
  const applyPaymentOutcome = new ApplyPaymentOutcome(ports.uow, ports.clock, options.onOrderSettled);
  let subscription: Subscription | undefined;
  return {
    placeOrder: new PlaceOrder(ports.uow, ports.clock, ports.ids),
    getOrder: new GetOrder(ports.queries),
    listOrders: new ListOrders(ports.queries),
    applyPaymentOutcome,
    start: async () => {
      dispatch.start();
      const wrap = options.handlers ?? unwrapped;
      subscription = await consume(ports.subscriber, Routes.paymentStatus, applyPaymentOutcome, wrap);
    },
    stop: async () => {
      await subscription?.close();
      subscription = undefined;
      await dispatch.stop();
    },
  };
};
