import { DomainError, invalid } from './errors.js';
import { UserId } from './ids.js';

/** Who is asking: a signed-in user, who may be an administrator acting for anyone. */
export interface Actor {
  /** The user the caller's token names. */
  readonly userId: UserId;
  /** Whether the caller may act for any user (support and tooling). */
  readonly admin: boolean;
}

/**
 * The caller of a use case: an actor, or `null` where identity is off (a trusted network), in
 * which case every request names its user and may name anyone.
 */
export type Caller = Actor | null;

export const forbidden = (message: string): DomainError => new DomainError('forbidden', 'forbidden', message);

/**
 * The user a request acts for: the one it names, or the caller where it names none. Naming
 * another user is allowed only to an administrator; without identity a user must be named.
 */
export const actingFor = (caller: Caller, named: unknown, field = 'user_id'): UserId => {
  if (named === undefined || named === null || named === '') {
    if (caller) return caller.userId;
    throw invalid(field, `${field} is required`, 'missing_field');
  }
  const user = UserId(named, field);
  if (caller && !caller.admin && caller.userId !== user) {
    throw forbidden(`you may act only for yourself (${field} must be your own or left out)`);
  }
  return user;
};

/** Whether `caller` may see what belongs to `owner`. */
export const maySee = (caller: Caller, owner: string): boolean =>
  caller === null || caller.admin || caller.userId === owner;

/**
 * Whose idempotency keys a request uses: the caller's, so that two users with the same key never
 * meet; without identity, the user the request names.
 */
export const keyOwner = (caller: Caller, user: UserId): UserId => caller?.userId ?? user;
