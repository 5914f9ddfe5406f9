import { invalid } from '../shared/errors.js';
import { OrderId } from '../shared/ids.js';
import type { OrderSnapshot } from './order.js';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;

/**
 * Where a listing of a user's orders stopped: the last order's creation instant and its id.
 * The instant keeps microseconds (`YYYY-MM-DDTHH:MM:SS.ffffffZ`), as Postgres stores them, so a
 * page resumes exactly after its last order even when many share a millisecond; in this fixed
 * form, text order is time order.
 */
export interface OrderPosition {
  readonly createdAt: string;
  readonly id: OrderId;
}

/** Which page of a user's orders to read: at most `limit`, all after `after` if given. */
export interface PageRequest {
  readonly limit: number;
  readonly after?: OrderPosition;
}

/** A page of orders, newest first, and where the next one begins when more exist. */
export interface OrderPage<T = OrderSnapshot> {
  readonly orders: T[];
  readonly next?: OrderPosition;
}

const INSTANT = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3})\d{3}Z$/;

/** The position of `order` in a listing; a `Date` holds milliseconds, so the microseconds are 000. */
export const positionOf = (order: Pick<OrderSnapshot, 'createdAt' | 'id'>): OrderPosition => ({
  createdAt: order.createdAt.toISOString().replace(/Z$/, '000Z'),
  id: order.id,
});

/** `value` as a position a listing can resume after: a real instant in the fixed form and an order id. */
export const OrderPosition = (value: unknown, field = 'cursor'): OrderPosition => {
  const refuse = () => invalid(field, `${field} is not a position in this list; start again without it`);
  if (typeof value !== 'object' || value === null) throw refuse();
  const { createdAt, id } = value as Record<string, unknown>;
  const millis = typeof createdAt === 'string' ? INSTANT.exec(createdAt)?.[1] : undefined;
  // The round trip refuses what the pattern lets through but the calendar does not (month 13).
  const date = millis === undefined ? undefined : new Date(`${millis}Z`);
  if (!date || Number.isNaN(date.getTime()) || date.toISOString() !== `${millis}Z`) throw refuse();
  try {
    return { createdAt: createdAt as string, id: OrderId(id, field) };
  } catch {
    throw refuse();
  }
};

/**
 * The page size a request asks for: absent is the default; otherwise a whole number from 1 to
 * MAX_PAGE_SIZE, given as a number or as the decimal digits of a query string.
 */
export const pageLimit = (value: unknown, field = 'limit'): number => {
  if (value === undefined) return DEFAULT_PAGE_SIZE;
  const limit = typeof value === 'string' && /^\d{1,4}$/.test(value) ? Number(value) : value;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
    throw invalid(field, `${field} must be a whole number from 1 to ${MAX_PAGE_SIZE}`);
  }
  return limit;
};
