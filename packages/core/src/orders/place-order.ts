import type { Clock } from '../shared/clock.js';
import type { IdGenerator } from '../shared/id-generator.js';
import { actingFor, keyOwner, type Caller } from '../shared/actor.js';
import { OrderId, type UserId } from '../shared/ids.js';
import { once } from '../shared/idempotency.js';
import { Money } from '../shared/money.js';
import type { UnitOfWork } from '../shared/unit-of-work.js';
import { outgoing } from '../messaging/envelope.js';
import { checkDescription } from '../shared/text.js';
import { Order } from './order.js';
import { orderMessages } from './order-messages.js';
import { toOrderView, type OrderView } from './order-view.js';
import { askAgainDelay, defaultReconcilePolicy, type ReconcilePolicy } from './reconcile-policy.js';
import type { OrdersTx } from './ports.js';

export interface PlaceOrderInput {
  /** Who is asking; `null` where identity is off. */
  readonly caller: Caller;
  /** The user the order is for; left out, the caller. */
  readonly userId?: unknown;
  readonly amount: unknown;
  readonly description?: unknown;
  readonly idempotencyKey?: string | undefined;
  /** Headers to carry on the payment request (trace context). */
  readonly headers?: Readonly<Record<string, string>>;
}

/** Creates an order and, in the same transaction, asks for its payment through the outbox. */
export class PlaceOrder {
  constructor(
    private readonly uow: UnitOfWork<OrdersTx>,
    private readonly clock: Clock,
    private readonly ids: IdGenerator,
    /** When the order asks for its payment again if no outcome came. */
    private readonly reconcile: Pick<ReconcilePolicy, 'afterMs' | 'maxDelayMs'> = defaultReconcilePolicy,
  ) {}

  async execute(input: PlaceOrderInput): Promise<OrderView> {
    const userId = actingFor(input.caller, input.userId);
    const request = { userId, amount: Money.amount(input.amount), description: checkDescription(input.description) };
    const fingerprint = JSON.stringify([userId, request.amount.minor, request.description]);
    const scope = `orders.place/${keyOwner(input.caller, userId)}`;
    return this.uow.run((tx) =>
      once(tx.idempotency, scope, input.idempotencyKey, fingerprint, () => this.place(tx, request, input.headers)),
    );
  }

  private async place(
    tx: OrdersTx,
    request: { userId: UserId; amount: Money; description: string },
    headers: PlaceOrderInput['headers'],
  ): Promise<OrderView> {
    const now = this.clock.now();
    const askAgainAt = new Date(now.getTime() + askAgainDelay(this.reconcile, 1));
    const order = Order.place({ id: OrderId(this.ids.next()), ...request, now, askAgainAt });
    await tx.orders.save(order);
    for (const message of outgoing(orderMessages(order.pullEvents()), { ids: this.ids, at: now, headers })) {
      await tx.outbox.append(message);
    }
    return toOrderView(order.snapshot());
  }
}
