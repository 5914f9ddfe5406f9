import { invalid } from './errors.js';

// Unicode's control characters (general category Cc): C0 (U+0000–U+001F, tab and newline
// included), DEL and C1 (U+007F–U+009F). None belongs in an id, a key or a one-line description;
// U+0000 is refused outright by Postgres, and the others turn logs and terminals into attack
// surfaces (escape sequences, forged log lines).
const CONTROL = /\p{Cc}/u;
// In a `u` regex a surrogate class matches only halves that are not part of a pair: text that is
// not valid Unicode, which cannot be encoded as UTF-8 (Postgres and JSON refuse it).
const LONE_SURROGATE = /[\ud800-\udfff]/u;

/** What is wrong with `value` as text, for a message naming `field`; undefined when nothing is. */
export const textProblem = (value: string, field: string): string | undefined => {
  if (CONTROL.test(value)) return `${field} must not contain control characters`;
  if (LONE_SURROGATE.test(value)) return `${field} must be valid Unicode (no lone surrogates)`;
  return undefined;
};

/**
 * The one text rule of every field and parameter a client or a message sends: no control
 * characters and no invalid Unicode. Throws a validation error naming `field`.
 */
export const checkText = (value: string, field: string): string => {
  const problem = textProblem(value, field);
  if (problem !== undefined) throw invalid(field, problem);
  return value;
};

/** The longest order description, in characters (code points, as a person counts them). */
export const MAX_DESCRIPTION = 500;

/** An order's description: absent is empty; else one line of text of at most MAX_DESCRIPTION. */
export const checkDescription = (value: unknown): string => {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw invalid('description', 'description must be a string');
  if ([...value].length > MAX_DESCRIPTION) {
    throw invalid('description', `description must be at most ${MAX_DESCRIPTION} characters`);
  }
  // One line of text: a newline or tab is refused like any control character (see `checkText`).
  return checkText(value, 'description');
};
