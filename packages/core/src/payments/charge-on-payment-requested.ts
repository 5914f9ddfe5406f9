import type { Account } from '../accounts/account.js';
import { loadAll } from '../shared/batch-reads.js';
import type { Clock } from '../shared/clock.js';
import type { IdGenerator } from '../shared/id-generator.js';
import { OrderId, UserId } from '../shared/ids.js';
import { Money } from '../shared/money.js';
import type { UnitOfWork } from '../shared/unit-of-work.js';
import { outgoing, type MessageEnvelope } from '../messaging/envelope.js';
import { MessageBatch, type Duplicate, type MessageSteps } from '../messaging/message-batch.js';
import { parsePaymentRequested } from '../messaging/messages.js';
import { Payment } from './payment.js';
import { paymentMessages } from './payment-messages.js';
import type { PaymentsTx } from './ports.js';

export const PAYMENTS_CONSUMER = 'payments';

export type ChargeResult = 'charged' | 'declined' | 'repeated' | Duplicate;

interface Request {
  readonly orderId: OrderId;
  readonly userId: UserId;
  readonly amount: Money;
}

interface Loaded {
  /** The payments of the batch's orders: those decided before, and those decided in the batch. */
  readonly decided: Map<OrderId, Payment>;
  /** The accounts of the batch's users, locked. */
  readonly accounts: Map<UserId, Account>;
}

/**
 * Consumes `payment.requested`: decides the order's payment once, debiting at most once, and
 * puts the outcome in the outbox. A request for an order already decided, even under a new
 * message id, debits nothing and answers again with the decision already taken.
 */
export class ChargeOnPaymentRequested {
  private readonly batch: MessageBatch<PaymentsTx, Request, Loaded, ChargeResult>;

  constructor(uow: UnitOfWork<PaymentsTx>, clock: Clock, ids: IdGenerator) {
    this.batch = new MessageBatch(uow, chargeSteps(clock, ids));
  }

  async execute(message: MessageEnvelope): Promise<ChargeResult> {
    return this.batch.one(message);
  }

  /** Handles several requests in one transaction, all or none, each as `execute` would. */
  async executeAll(messages: readonly MessageEnvelope[]): Promise<ChargeResult[]> {
    return this.batch.all(messages);
  }
}

const chargeSteps = (clock: Clock, ids: IdGenerator): MessageSteps<PaymentsTx, Request, Loaded, ChargeResult> => ({
  consumer: PAYMENTS_CONSUMER,

  parse(message) {
    const request = parsePaymentRequested(message.type, message.payload);
    return {
      orderId: OrderId(request.order_id),
      userId: UserId(request.user_id),
      amount: Money.amount(request.amount),
    };
  },

  // By user, so that concurrent batches lock accounts in one order and never wait in a cycle.
  lockOrder: ({ userId, orderId }) => [userId, orderId],

  async load(tx, requests) {
    const [decided, accounts] = await Promise.all([
      loadAll(
        tx.payments,
        requests.map(({ orderId }) => orderId),
      ),
      loadAll(
        tx.accounts,
        requests.map(({ userId }) => userId),
      ),
    ]);
    return { decided, accounts };
  },

  async decide(tx, { message, request }, { decided, accounts }) {
    const now = clock.now();
    const earlier = decided.get(request.orderId);
    const payment = earlier?.tell() ?? (await pay(tx, request, accounts.get(request.userId) ?? null, now));
    decided.set(request.orderId, payment);
    for (const answer of outgoing(paymentMessages(payment.pullEvents()), { ids, at: now, cause: message })) {
      await tx.outbox.append(answer);
    }
    if (earlier) return 'repeated';
    return payment.succeeded ? 'charged' : 'declined';
  },
});

/** Decides an order's payment the first time, and saves it with the account it debits. */
const pay = async (tx: PaymentsTx, request: Request, account: Account | null, now: Date): Promise<Payment> => {
  const payment = Payment.decide({ ...request, account, now });
  if (account && payment.succeeded) await tx.accounts.save(account);
  await tx.payments.add(payment);
  return payment;
};
