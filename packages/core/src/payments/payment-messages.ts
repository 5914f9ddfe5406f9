import { MessageTypes, type ContractMessage } from '../messaging/messages.js';
import type { PaymentEvent } from './payment.js';

/** What a payment's events tell the orders service: the outcome, on `payment.status`. */
export const paymentMessages = (events: readonly PaymentEvent[]): ContractMessage[] =>
  events.map(({ orderId, userId, amount, ...event }): ContractMessage =>
    event.type === 'PaymentSucceeded'
      ? { type: MessageTypes.paymentSucceeded, body: { order_id: orderId, user_id: userId, amount } }
      : {
          type: MessageTypes.paymentFailed,
          body: { order_id: orderId, user_id: userId, amount, reason: event.reason },
        },
  );
