/** What kind of failure an error is; the HTTP edge maps each kind to one status. */
export type ErrorKind =
  'validation' | 'forbidden' | 'not_found' | 'conflict' | 'idempotency' | 'unavailable' | 'malformed_message';

/**
 * The one error the domain throws. `code` is stable and snake_case: clients and tests match on it,
 * so a code is never renamed. `field` names the offending input where there is one.
 */
export class DomainError extends Error {
  override readonly name = 'DomainError';

  constructor(
    readonly kind: ErrorKind,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export const isDomainError = (err: unknown): err is DomainError => err instanceof DomainError;

export const invalid = (field: string, message: string, code = 'invalid_field'): DomainError =>
  new DomainError('validation', code, message, field);

export const notFound = (code: string, message: string): DomainError => new DomainError('not_found', code, message);

export const conflict = (code: string, message: string): DomainError => new DomainError('conflict', code, message);
