import { z } from 'zod';
import { checkDescription, checkIdempotencyKey, DomainError, isDomainError, Money, UserId } from '@gozon/core';

/**
 * A refinement that runs a rule of core, so that the edge refuses exactly what the domain does,
 * with the same message: user ids, amounts, descriptions and the text rule live there only.
 */
const byCore =
  <T>(rule: (value: T) => unknown) =>
  (value: T, ctx: z.RefinementCtx): void => {
    try {
      rule(value);
    } catch (err) {
      if (!isDomainError(err)) throw err;
      ctx.addIssue({ code: 'custom', message: err.message });
    }
  };

// The base types stay here, so that a field left out is told apart from one of the wrong type.
export const userId = z.string({ error: 'user_id must be a string' }).superRefine(byCore((value) => UserId(value)));

export const amount = z
  .number({ error: 'amount must be a number' })
  .superRefine(byCore((value) => Money.amount(value)));

export const description = z.string({ error: 'description must be a string' }).superRefine(byCore(checkDescription));

// `user_id` may be left out: it is the caller (required only without identity, which core says).
export const createAccountBody = z.object({ user_id: userId.optional() });
export const depositBody = z.object({ user_id: userId.optional(), amount });
export const placeOrderBody = z.object({ user_id: userId.optional(), amount, description: description.optional() });

/** Checks `input` against `schema`; the first problem becomes a 400 naming its field. */
export const validate = <T>(schema: z.ZodType<T>, input: unknown): T => {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new DomainError('validation', 'invalid_body', 'the body must be a JSON object');
  }
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue?.path.join('.') || 'body';
  const missing = issue?.code === 'invalid_type' && (input as Record<string, unknown>)[field] === undefined;
  if (missing) throw new DomainError('validation', 'missing_field', `${field} is required`, field);
  throw new DomainError('validation', 'invalid_field', issue?.message ?? `${field} is invalid`, field);
};

/**
 * The optional Idempotency-Key header, as Node hands it over (`ctx.headers['idempotency-key']`):
 * absent is no key; present, even empty or blank, it must be a valid key (400 otherwise), since
 * a client that sends the header means its request to be safe to retry.
 */
export const idempotencyKey = (value: string | string[] | undefined): string | undefined => {
  if (value === undefined) return undefined;
  return checkIdempotencyKey(Array.isArray(value) ? value.join(', ') : value);
};
