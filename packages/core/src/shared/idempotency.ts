import { DomainError, invalid } from './errors.js';
import { textProblem } from './text.js';

/** What was stored under an idempotency key. */
export interface IdempotencyRecord {
  /** The canonical form of the first request that used the key. */
  readonly fingerprint: string;
  /** The first response, as JSON-ready data. */
  readonly response: unknown;
}

/** Client retry keys, kept in the service's own database. */
export interface IdempotencyStore {
  /**
   * Claims `key` within `scope` in the current transaction. Returns null if this transaction now
   * holds it, or the record stored by an earlier one. A concurrent claim of the same key waits
   * for the holder's transaction and then sees its record.
   */
  claim(scope: string, key: string, fingerprint: string): Promise<IdempotencyRecord | null>;
  /** Stores the response for a key this transaction claimed. */
  complete(scope: string, key: string, response: unknown): Promise<void>;
}

const KEY = /^[\x20-\x7e]{1,128}$/;
const HEADER = 'Idempotency-Key';

/**
 * An `Idempotency-Key`: 1 to 128 printable ASCII characters, not all blank. An empty or blank key
 * is refused rather than taken as "no key": the client meant to make its request safe to retry.
 */
export const checkIdempotencyKey = (value: unknown): string => {
  const refuse = (message: string) => invalid(HEADER, message, 'invalid_idempotency_key');
  if (typeof value !== 'string') throw refuse(`${HEADER} must be a string`);
  const problem = textProblem(value, HEADER);
  if (problem !== undefined) throw refuse(problem);
  if (!KEY.test(value)) throw refuse(`${HEADER} must be 1 to 128 printable characters`);
  if (value.trim() === '') throw refuse(`${HEADER} must not be blank`);
  return value;
};

/**
 * Runs `effect` once per key: a retry with the same request gets the first response back, a
 * retry with a different one is refused. Call it inside the transaction that makes the effect.
 */
export const once = async <T>(
  store: IdempotencyStore,
  scope: string,
  key: string | undefined,
  fingerprint: string,
  effect: () => Promise<T>,
): Promise<T> => {
  if (key === undefined) return effect();
  const earlier = await store.claim(scope, checkIdempotencyKey(key), fingerprint);
  if (earlier) {
    if (earlier.fingerprint !== fingerprint) {
      throw new DomainError(
        'idempotency',
        'idempotency_key_reused',
        'this Idempotency-Key was already used with a different request',
      );
    }
    return earlier.response as T;
  }
  const result = await effect();
  await store.complete(scope, key, result);
  return result;
};
