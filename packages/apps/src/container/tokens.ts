import type { ServiceIdentifier } from 'inversify';
import type {
  AccountQueries,
  ApplyPaymentOutcome,
  ChargeOnPaymentRequested,
  Clock,
  CreateAccount,
  Deposit,
  GetBalance,
  GetOrder,
  IdGenerator,
  ListOrders,
  OrderQueries,
  OrdersTx,
  PaymentsTx,
  PlaceOrder,
  UnitOfWork,
} from '@gozon/core';
import type {
  DeadLetterStore,
  DeliveryCounter,
  MessagePublisher,
  MessageSubscriber,
  OutboxStore,
} from '@gozon/messaging';
import type { SqlDatabase } from '@gozon/adapters/postgres';

const token = <T>(name: string): ServiceIdentifier<T> => Symbol.for(`gozon.${name}`);

/** Service identifiers: one per port or use case a container can hand out. */
export const Tokens = {
  clock: token<Clock>('clock'),
  ids: token<IdGenerator>('ids'),
  database: token<SqlDatabase>('database'),
  ordersUow: token<UnitOfWork<OrdersTx>>('ordersUow'),
  paymentsUow: token<UnitOfWork<PaymentsTx>>('paymentsUow'),
  orderQueries: token<OrderQueries>('orderQueries'),
  accountQueries: token<AccountQueries>('accountQueries'),
  outboxStore: token<OutboxStore>('outboxStore'),
  deliveryCounter: token<DeliveryCounter>('deliveryCounter'),
  deadLetterStore: token<DeadLetterStore>('deadLetterStore'),
  publisher: token<MessagePublisher>('publisher'),
  subscriber: token<MessageSubscriber>('subscriber'),
  placeOrder: token<PlaceOrder>('placeOrder'),
  getOrder: token<GetOrder>('getOrder'),
  listOrders: token<ListOrders>('listOrders'),
  applyPaymentOutcome: token<ApplyPaymentOutcome>('applyPaymentOutcome'),
  createAccount: token<CreateAccount>('createAccount'),
  deposit: token<Deposit>('deposit'),
  getBalance: token<GetBalance>('getBalance'),
  chargeOnPaymentRequested: token<ChargeOnPaymentRequested>('chargeOnPaymentRequested'),
} as const;
