import { invalid, type OrderPosition } from '@gozon/core';

/*
 * The `cursor` of `GET /orders`: base64url of `{"created_at","id"}`, the position a page ended
 * at. Opaque to clients, so its shape may change; it names no user, since the user is decided
 * from the caller on every page. Anything not shaped so is refused as a field, never a 500.
 */

const CURSOR = /^[A-Za-z0-9_-]{1,200}$/;

export const encodeCursor = (position: OrderPosition): string =>
  Buffer.from(JSON.stringify({ created_at: position.createdAt, id: position.id })).toString('base64url');

/** The position a cursor holds, still to be checked as one (the use case does: `OrderPosition`). */
export const decodeCursor = (cursor: string): unknown => {
  const refuse = () => invalid('cursor', 'cursor is not one this list gave out; start again without it');
  // Node's decoder skips characters outside the alphabet; a cursor must be exactly what was encoded.
  if (!CURSOR.test(cursor)) throw refuse();
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw refuse();
  }
  if (typeof decoded !== 'object' || decoded === null || Array.isArray(decoded)) throw refuse();
  const { created_at: createdAt, id } = decoded as Record<string, unknown>;
  return { createdAt, id };
};

/**
 * The RFC 8288 link to the page after `next`, relative to the origin (`path` is the one the
 * client asked for, so it holds through the gateway), keeping the user named and the limit.
 */
export const nextLink = (path: string, query: { userId?: string; limit: number }, next: OrderPosition): string => {
  const params = new URLSearchParams();
  if (query.userId !== undefined) params.set('user_id', query.userId);
  params.set('limit', String(query.limit));
  params.set('cursor', encodeCursor(next));
  return `<${path}?${params.toString()}>; rel="next"`;
};
