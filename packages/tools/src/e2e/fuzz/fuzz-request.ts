import fc from 'fast-check';

/*
 * A request of the generative test, symbolic where its value is known only while the test runs
 * (tokens, order ids, cursors), so that a counterexample reads the same on every replay and
 * never shows a token.
 */

/** Who sends a request: the Authorization header it carries. */
export type Caller = 'alice' | 'bob' | 'admin' | 'anonymous' | 'not-a-jwt' | 'forged' | 'basic' | 'empty-bearer';
export const SIGNED_IN = ['alice', 'bob', 'admin'] as const;
export type SignedIn = (typeof SIGNED_IN)[number];
/** The user each signed-in caller is (the administrator's own id when it names nobody). */
export const USER_OF: Record<SignedIn, string> = { alice: 'alice', bob: 'bob', admin: 'e2e-admin' };
/** Users with no token of their own in the test; an administrator may act for them. */
export const OTHERS = ['carol', 'dave.x@y-z_1'];

/** An order id known only at run time: the `index`-th order (modulo) of `owner`, or a fresh UUID if none. */
export interface OrderRef {
  readonly orderOf: string;
  readonly index: number;
}
/** The next-page cursor the last listing of the caller answered (garbage if none yet). */
export interface CursorRef {
  readonly cursor: 'from-link';
}
export type Segment = string | OrderRef;
export type QueryValue = string | CursorRef;

export interface FuzzRequest {
  /** The operationId, or `no-route` for a path or method the API does not have. */
  readonly op: string;
  readonly method: string;
  /** Path segments, each percent-encoded already, or an order to look up. */
  readonly path: readonly Segment[];
  /** Query pairs, each percent-encoded already. */
  readonly query: readonly (readonly [string, QueryValue])[];
  readonly caller: Caller;
  readonly idempotencyKey?: string | undefined;
  /** The Content-Type header (absent when undefined). */
  readonly contentType?: string | undefined;
  /** The body as text; `\uE000` stands for the bytes FF FE (not UTF-8) on the wire. */
  readonly body?: string | undefined;
  /** What was changed from a valid request, to read a counterexample. */
  readonly mutations: readonly string[];
}

export const BAD_BYTES_MARK = '\uE000';

export const short = (s: string): string =>
  s.length > 120 ? `${JSON.stringify(s.slice(0, 80))}…(${s.length} chars)` : JSON.stringify(s);

/** A request as a person reads it: tokens by whose they are, long text cut short. */
export const describeRequest = (r: FuzzRequest): string => {
  const path = r.path.map((s) => (typeof s === 'string' ? s : `{${s.orderOf}'s order #${s.index}}`)).join('/');
  const query = r.query.map(([k, v]) => `${k}=${typeof v === 'string' ? v : '{cursor from Link}'}`).join('&');
  const headers = [`Authorization: <${r.caller}>`];
  if (r.idempotencyKey !== undefined) headers.push(`Idempotency-Key: ${short(r.idempotencyKey)}`);
  if (r.contentType !== undefined) headers.push(`Content-Type: ${r.contentType}`);
  const body = r.body === undefined ? '' : ` body ${short(r.body)}`;
  const why = r.mutations.length ? ` [${r.mutations.join('; ')}]` : ' [valid]';
  return `${r.method} /${path}${query ? `?${query}` : ''} (${headers.join(', ')})${body}${why}`;
};

export const withToString = (r: FuzzRequest): FuzzRequest =>
  Object.defineProperty(r, fc.toStringMethod, { value: () => describeRequest(r), enumerable: false });
