import { MessageTypes, type ContractMessage } from '../messaging/messages.js';
import type { OrderEvent } from './order.js';

/**
 * What an order's events ask of the rest of the system: a placed order asks for its payment, and
 * one with no outcome in time asks again, with the same body. Settling says nothing to other
 * services (the payments service told us).
 */
export const orderMessages = (events: readonly OrderEvent[]): ContractMessage[] =>
  events.flatMap((event): ContractMessage[] =>
    event.type === 'OrderPlaced' || event.type === 'PaymentAskedAgain'
      ? [
          {
            type: MessageTypes.paymentRequested,
            body: { order_id: event.orderId, user_id: event.userId, amount: event.amount.minor },
          },
        ]
      : [],
  );
