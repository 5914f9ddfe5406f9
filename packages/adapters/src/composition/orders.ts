import {
  ApplyPaymentOutcome,
  GetOrder,
  ListOrders,
  PlaceOrder,
  ReconcileOrders,
  defaultReconcilePolicy,
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
import { sweeping, type ReconcileOptions } from './reconcile.js';

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
  /**
   * Sweep for orders whose payment to ask again, as the services do. Left out, nothing sweeps on
   * its own (a harness calls `reconcileOrders.sweep()`), and orders ask again after the default wait.
   */
  readonly reconcile?: ReconcileOptions;
}

/** The orders service, composed: its use cases, and start/stop for what runs beside them. */
export interface OrdersService extends Running {
  readonly placeOrder: PlaceOrder;
  readonly getOrder: GetOrder;
  readonly listOrders: ListOrders;
  readonly applyPaymentOutcome: ApplyPaymentOutcome;
  readonly reconcileOrders: ReconcileOrders;
}

/** The one way the orders service is put together: by the services, the in-memory system and the integration harness. */
export const composeOrders = (
  ports: OrdersPorts,
  dispatch: DispatchStrategy,
  options: OrdersOptions = {},
): OrdersService => {
  const applyPaymentOutcome = new ApplyPaymentOutcome(ports.uow, ports.clock, options.onOrderSettled);
  const policy = options.reconcile?.policy ?? defaultReconcilePolicy;
  const reconcileOrders = new ReconcileOrders(ports.uow, ports.clock, ports.ids, policy);
  const consuming = running(dispatch, ports.subscriber, Routes.paymentStatus, applyPaymentOutcome, options.handlers);
  const sweeper = options.reconcile ? sweeping(reconcileOrders, options.reconcile) : null;
  return {
    placeOrder: new PlaceOrder(ports.uow, ports.clock, ports.ids, policy),
    getOrder: new GetOrder(ports.queries),
    listOrders: new ListOrders(ports.queries),
    applyPaymentOutcome,
    reconcileOrders,
    start: async () => {
      await consuming.start();
      await sweeper?.start();
    },
    stop: async () => {
      await sweeper?.stop();
      await consuming.stop();
    },
  };
};
