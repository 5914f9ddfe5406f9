import type { Account } from '../accounts/account.js';
import { loadAll, recordAll } from '../shared/batch-reads.js';
import type { Clock } from '../shared/clock.js';
import type { IdGenerator } from '../shared/id-generator.js';
import { OrderId, UserId } from '../shared/ids.js';
import { Money } from '../shared/money.js';
import type { UnitOfWork } from '../shared/unit-of-work.js';
import { traceContextOf, type MessageEnvelope } from '../messaging/envelope.js';
import {
  MessageTypes,
  parsePaymentRequested,
  Routes,
  type PaymentFailed,
  type PaymentSucceeded,
} from '../messaging/messages.js';
import { Payment } from './payment.js';
import type { PaymentsTx } from './ports.js';

export const PAYMENTS_CONSUMER = 'payments';

interface Request {
  readonly message: MessageEnvelope;
  readonly orderId: OrderId;
  readonly userId: UserId;
  readonly amount: Money;
}

const parse = (message: MessageEnvelope): Request => {
  const request = parsePaymentRequested(message.type, message.payload);
  return {
    message,
    orderId: OrderId(request.order_id),
    userId: UserId(request.user_id),
    amount: Money.amount(request.amount),
  };
};

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export type ChargeResult = 'charged' | 'declined' | 'repeated' | 'duplicate';

/**
 * Consumes `payment.requested`: decides the order's payment once, debiting at most once, and
 * puts the outcome in the outbox. A request for an order already decided, even under a new
 * message id, debits nothing and answers again with the decision already taken.
 */
export class ChargeOnPaymentRequested {
  constructor(
    private readonly uow: UnitOfWork<PaymentsTx>,
    private readonly clock: Clock,
    private readonly ids: IdGenerator,
  ) {}

  async execute(message: MessageEnvelope): Promise<ChargeResult> {
    const [result] = await this.executeAll([message]);
    return result as ChargeResult;
  }

  /**
   * Handles several requests in one transaction, all or none, each as `execute` would. It reads
   * first and writes after: the inbox records, the payments already decided and the accounts to
   * debit are each loaded for the whole batch at once, the three reads asked together (accounts
   * locked in one order, by user, so concurrent batches never wait on each other in a cycle), then
   * each request is decided in turn.
   */
  async executeAll(messages: readonly MessageEnvelope[]): Promise<ChargeResult[]> {
    const requests = messages.map(parse);
    const order = requests
      .map((request, i) => ({ request, i }))
      .sort((a, b) => compare(a.request.userId, b.request.userId) || compare(a.request.orderId, b.request.orderId));
    return this.uow.run(async (tx) => {
      // Asked all at once, so an adapter that pipelines sends them in one round trip. Payments and
      // accounts are read for every request of the batch, even one the inbox then finds repeated
      // or one already paid: a row read (or locked) for nothing costs less than a round trip.
      const [fresh, payments, accounts] = await Promise.all([
        recordAll(
          tx.inbox,
          PAYMENTS_CONSUMER,
          order.map(({ request }) => request.message.id),
        ),
        loadAll(
          tx.payments,
          order.map(({ request }) => request.orderId),
        ),
        loadAll(
          tx.accounts,
          order.map(({ request }) => request.userId),
        ),
      ]);
      const results: ChargeResult[] = [];
      for (const [j, { request, i }] of order.entries()) {
        results[i] = fresh[j] ? await this.charge(tx, request, payments, accounts) : 'duplicate';
      }
      return results;
    });
  }

  private async charge(
    tx: PaymentsTx,
    { message, orderId, userId, amount }: Request,
    payments: Map<OrderId, Payment>,
    accounts: Map<UserId, Account>,
  ): Promise<ChargeResult> {
    const now = this.clock.now();
    let payment = payments.get(orderId) ?? null;
    const repeated = payment !== null;
    if (!payment) {
      const account = accounts.get(userId) ?? null;
      payment = Payment.decide({ orderId, userId, amount, account, now });
      if (account && payment.succeeded) await tx.accounts.save(account);
      await tx.payments.add(payment);
      // A second request for this order in the same batch finds it decided.
      payments.set(orderId, payment);
    }
    const decided = payment.snapshot();
    const body: PaymentSucceeded | PaymentFailed = decided.failureReason
      ? { order_id: orderId, user_id: decided.userId, amount: decided.amount, reason: decided.failureReason }
      : { order_id: orderId, user_id: decided.userId, amount: decided.amount };
    await tx.outbox.append({
      routingKey: Routes.paymentStatus,
      envelope: {
        id: this.ids.next(),
        type: decided.failureReason ? MessageTypes.paymentFailed : MessageTypes.paymentSucceeded,
        correlationId: orderId,
        causationId: message.id,
        occurredAt: now.toISOString(),
        payload: body,
        headers: traceContextOf(message.headers),
      },
    });
    if (repeated) return 'repeated';
    return payment.succeeded ? 'charged' : 'declined';
  }
}
