import { invalid } from './errors.js';
import { checkText } from './text.js';

declare const brand: unique symbol;
/** A string that has been checked to be a particular kind of id. */
export type Brand<T, B extends string> = T & { readonly [brand]: B };

export type UserId = Brand<string, 'UserId'>;
export type OrderId = Brand<string, 'OrderId'>;
export type MessageId = Brand<string, 'MessageId'>;

const USER_ID = /^[A-Za-z0-9_.@-]{1,64}$/;
// `.`, `..`, `...`: a user id becomes a path segment (`/payments/accounts/{user_id}/balance`),
// where dots alone mean "this" or "the parent" to every URL resolver on the way.
const ONLY_DOTS = /^\.+$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const UserId = (value: unknown, field = 'user_id'): UserId => {
  if (typeof value === 'string') checkText(value, field);
  if (typeof value !== 'string' || !USER_ID.test(value)) {
    throw invalid(field, `${field} must be 1 to 64 characters from A-Z a-z 0-9 _ . @ -`);
  }
  if (ONLY_DOTS.test(value)) throw invalid(field, `${field} must not be made of dots only`);
  return value as UserId;
};

export const OrderId = (value: unknown, field = 'order_id'): OrderId => {
  if (typeof value !== 'string' || !UUID.test(value)) throw invalid(field, `${field} must be a UUID`);
  return value.toLowerCase() as OrderId;
};

export const isUuid = (value: string): boolean => UUID.test(value);

/** Longest message id taken: ours are UUIDs; the bound keeps inbox keys and log lines small. */
export const MAX_MESSAGE_ID = 200;

export const MessageId = (value: unknown, field = 'messageId'): MessageId => {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_MESSAGE_ID) {
    throw invalid(field, `${field} must be a string of 1 to ${MAX_MESSAGE_ID} characters`);
  }
  return checkText(value, field) as MessageId;
};
