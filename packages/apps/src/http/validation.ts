import { z } from 'zod';
import { DomainError, MAX_AMOUNT, MAX_DESCRIPTION } from '@gozon/core';

export const userId = z
  .string({ error: 'user_id must be a string' })
  .regex(/^[A-Za-z0-9_.@-]{1,64}$/, 'user_id must be 1 to 64 characters from A-Z a-z 0-9 _ . @ -');

export const amount = z
  .number({ error: 'amount must be a number' })
  .int('amount must be an integer number of minor units')
  .positive('amount must be greater than 0')
  .max(MAX_AMOUNT, `amount must be at most ${MAX_AMOUNT}`);

export const description = z
  .string({ error: 'description must be a string' })
  .refine((s) => [...s].length <= MAX_DESCRIPTION, `description must be at most ${MAX_DESCRIPTION} characters`);

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

/** The optional Idempotency-Key header: 1 to 128 printable characters. */
export const idempotencyKey = (value: string | undefined): string | undefined => {
  if (value === undefined || value === '') return undefined;
  if (!/^[\x20-\x7e]{1,128}$/.test(value)) {
    throw new DomainError(
      'validation',
      'invalid_idempotency_key',
      'Idempotency-Key must be 1 to 128 printable characters',
      'Idempotency-Key',
    );
  }
  return value;
};
