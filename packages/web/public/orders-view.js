import { formatMinor } from './money.js';

const REASONS = { insufficient_funds: 'insufficient funds', account_not_found: 'no account' };

/** The reason an order was cancelled, in words. */
export const reasonInWords = (code) => REASONS[code] ?? String(code ?? 'unknown reason').replaceAll('_', ' ');

const when = (iso) => {
  const date = new Date(iso);
  return Number.isNaN(date.getTime())
    ? ''
    : date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
};

const el = (tag, className, text) => {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
};

const orderItem = (order) => {
  const item = el('li', 'order');
  item.dataset.orderId = order.id;
  item.dataset.status = order.status;
  const head = el('div', 'order-head');
  head.append(el('span', 'order-amount', formatMinor(order.amount)), el('span', 'badge', order.status));
  const description = order.description ? order.description : 'No description';
  item.append(head, el('p', order.description ? 'order-description' : 'order-description muted', description));
  if (order.status === 'CANCELLED') item.append(el('p', 'order-reason', reasonInWords(order.failure_reason)));
  if (order.status === 'NEW') item.append(el('p', 'order-note', 'Waiting for payment…'));
  const time = el('time', 'order-time', when(order.created_at));
  time.dateTime = order.created_at;
  item.append(time);
  return item;
};

/** Replaces the list's items with `orders` (already newest first). */
export const renderOrders = (list, orders) => list.replaceChildren(...orders.map(orderItem));

/** Words for a screen reader when an order leaves NEW. */
export const outcome = (order) =>
  order.status === 'FINISHED'
    ? `Order of ${formatMinor(order.amount)} paid.`
    : `Order of ${formatMinor(order.amount)} cancelled: ${reasonInWords(order.failure_reason)}.`;
