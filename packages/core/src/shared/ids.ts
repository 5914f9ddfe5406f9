import { invalid } from './errors.js';

declare const brand: unique symbol;
/** A string that has been checked to be a particular kind of id. */
export type Brand<T, B extends string> = T & { readonly [brand]: B };

export type UserId = Brand<string, 'UserId'>;
export type OrderId = Brand<string, 'OrderId'>;
export type MessageId = Brand<string, 'MessageId'>;

const USER_ID = /^[A-Za-z0-9_.@-]{1,64}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const UserId = (value: unknown, field = 'user_id'): UserId => {
  if (typeof value !== 'string' || !USER_ID.test(value)) {
    throw invalid(field, `${field} must be 1 to 64 characters from A-Z a-z 0-9 _ . @ -`);
  }
  return value as UserId;
};

export const OrderId = (value: unknown, field = 'order_id'): OrderId => {
  if (typeof value !== 'string' || !UUID.test(value)) throw invalid(field, `${field} must be a UUID`);
  return value.toLowerCase() as OrderId;
};

export const isUuid = (value: string): boolean => UUID.test(value);

export const MessageId = (value: unknown, field = 'messageId'): MessageId => {
  if (typeof value !== 'string' || value.length === 0 || value.length > 200) {
    throw invalid(field, `${field} must be a non-empty string`);
  }
  return value as MessageId;
};
