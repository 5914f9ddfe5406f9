import {
  ChargeOnPaymentRequested,
  CreateAccount,
  Deposit,
  GetBalance,
  Routes,
  type AccountQueries,
  type Clock,
  type IdGenerator,
  type PaymentsTx,
  type UnitOfWork,
} from '@gozon/core';
import type { MessageSubscriber } from '@gozon/messaging';
import { running, type HandlerWrapper, type Running } from './consumers.js';
import type { DispatchStrategy } from './dispatch.js';

/** What the payments service runs on. */
export interface PaymentsPorts {
  /** Its unit of work, appending as `DispatchStrategy.append` says. */
  readonly uow: UnitOfWork<PaymentsTx>;
  readonly queries: AccountQueries;
  readonly subscriber: MessageSubscriber;
  readonly clock: Clock;
  readonly ids: IdGenerator;
}

export interface PaymentsOptions {
  readonly handlers?: HandlerWrapper;
}

/** The payments service, composed: its use cases, and start/stop for what runs beside them. */
export interface PaymentsService extends Running {
  readonly createAccount: CreateAccount;
  readonly deposit: Deposit;
  readonly getBalance: GetBalance;
  readonly chargeOnPaymentRequested: ChargeOnPaymentRequested;
}

/** The one way the payments service is put together: by the services, the in-memory system and the integration harness. */
export const composePayments = (
  ports: PaymentsPorts,
  dispatch: DispatchStrategy,
  options: PaymentsOptions = {},
): PaymentsService => {
  const chargeOnPaymentRequested = new ChargeOnPaymentRequested(ports.uow, ports.clock, ports.ids);
  return {
    createAccount: new CreateAccount(ports.uow),
    deposit: new Deposit(ports.uow),
    getBalance: new GetBalance(ports.queries),
    chargeOnPaymentRequested,
    ...running(dispatch, ports.subscriber, Routes.orderPayments, chargeOnPaymentRequested, options.handlers),
  };
};
