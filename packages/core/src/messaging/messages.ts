import { DomainError, isDomainError } from '../shared/errors.js';
import { OrderId, UserId } from '../shared/ids.js';
import { Money } from '../shared/money.js';

/** Routing keys, which are also the names of the durable queues bound to them. */
export const Routes = {
  orderPayments: 'order.payments',
  paymentStatus: 'payment.status',
} as const;

export const MessageTypes = {
  paymentRequested: 'payment.requested',
  paymentSucceeded: 'payment.succeeded',
  paymentFailed: 'payment.failed',
} as const;

export type FailureReason = 'insufficient_funds' | 'account_not_found';
export const FAILURE_REASONS: readonly FailureReason[] = ['insufficient_funds', 'account_not_found'];

/** `payment.requested` on `order.payments`: the orders service asks for a payment. */
export interface PaymentRequested {
  /** The order to pay for. */
  readonly order_id: string;
  /** Whose account to debit. */
  readonly user_id: string;
  /** How much, in minor units. */
  readonly amount: number;
}

/** `payment.succeeded` on `payment.status`: the account was debited by `amount`, once. */
export interface PaymentSucceeded {
  /** The order that was paid. */
  readonly order_id: string;
  /** Whose account was debited. */
  readonly user_id: string;
  /** How much was debited, in minor units. */
  readonly amount: number;
}

/** `payment.failed` on `payment.status`: nothing was debited, for `reason`. */
export interface PaymentFailed {
  /** The order that could not be paid. */
  readonly order_id: string;
  /** Whose account it was to be. */
  readonly user_id: string;
  /** The amount asked for, in minor units. */
  readonly amount: number;
  /** Why nothing was debited. */
  readonly reason: FailureReason;
}

export type PaymentOutcome =
  | { readonly type: typeof MessageTypes.paymentSucceeded; readonly body: PaymentSucceeded }
  | { readonly type: typeof MessageTypes.paymentFailed; readonly body: PaymentFailed };

/** A message of the contract: its type and its body. */
export type ContractMessage =
  { readonly type: typeof MessageTypes.paymentRequested; readonly body: PaymentRequested } | PaymentOutcome;

/** The routing key each type of message is published with. */
export const routeOf = (type: ContractMessage['type']): string =>
  type === MessageTypes.paymentRequested ? Routes.orderPayments : Routes.paymentStatus;

const malformed = (message: string): DomainError => new DomainError('malformed_message', 'malformed_message', message);

const record = (payload: unknown): Record<string, unknown> => {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw malformed('message body must be a JSON object');
  }
  return payload as Record<string, unknown>;
};

// A field keeps to the domain's own rule for it (one definition of each); one that does not
// makes the whole message malformed, whatever the rule calls the problem.
const field = <T>(rule: () => T): T => {
  try {
    return rule();
  } catch (err) {
    if (isDomainError(err)) throw malformed(err.message);
    throw err;
  }
};

const paymentFields = (body: Record<string, unknown>): PaymentRequested => ({
  order_id: field(() => OrderId(body['order_id'])),
  user_id: field(() => UserId(body['user_id'])),
  amount: field(() => Money.amount(body['amount']).minor),
});

/** Checks a `payment.requested` body; throws a `malformed_message` error if it is not one. */
export const parsePaymentRequested = (type: string, payload: unknown): PaymentRequested => {
  if (type !== MessageTypes.paymentRequested) throw malformed(`unexpected message type ${type}`);
  return paymentFields(record(payload));
};

/** Checks a `payment.succeeded` or `payment.failed` body. */
export const parsePaymentOutcome = (type: string, payload: unknown): PaymentOutcome => {
  const body = record(payload);
  const fields = paymentFields(body);
  if (type === MessageTypes.paymentSucceeded) return { type, body: fields };
  if (type === MessageTypes.paymentFailed) {
    const reason = body['reason'];
    if (!FAILURE_REASONS.includes(reason as FailureReason)) throw malformed('unknown failure reason');
    return { type, body: { ...fields, reason: reason as FailureReason } };
  }
  throw malformed(`unexpected message type ${type}`);
};
