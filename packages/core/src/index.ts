// The public API of @gozon/core: the domain, its ports and its use cases.
export * from './shared/errors.js';
export * from './shared/money.js';
export * from './shared/ids.js';
export * from './shared/text.js';
export * from './shared/actor.js';
export * from './shared/clock.js';
export * from './shared/id-generator.js';
export * from './shared/unit-of-work.js';
export * from './shared/idempotency.js';
export * from './shared/batch-reads.js';

export * from './messaging/envelope.js';
export * from './messaging/messages.js';
export * from './messaging/outbox.js';
export * from './messaging/inbox.js';
export * from './messaging/message-batch.js';

export * from './orders/order.js';
export * from './orders/order-messages.js';
export * from './orders/order-view.js';
export * from './orders/order-page.js';
export * from './orders/ports.js';
export * from './orders/place-order.js';
export * from './orders/get-order.js';
export * from './orders/list-orders.js';
export * from './orders/apply-payment-outcome.js';
export * from './orders/reconcile-policy.js';
export * from './orders/reconcile-orders.js';

export * from './accounts/account.js';
export * from './accounts/ports.js';
export * from './accounts/create-account.js';
export * from './accounts/deposit.js';
export * from './accounts/get-balance.js';

export * from './payments/payment.js';
export * from './payments/payment-messages.js';
export * from './payments/ports.js';
export * from './payments/charge-on-payment-requested.js';
