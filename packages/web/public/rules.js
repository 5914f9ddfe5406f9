/*
 * The page's copy of the rules the services check (`@gozon/core`), so that a person hears of a
 * problem as they type, in words meant for them, rather than from a refused request. The page
 * has no build step and cannot import core; a test (test/rules.unit.spec.js) holds this copy to
 * core's rules on a table of inputs, so the two cannot drift apart.
 */

/** The contract's limit for one amount, in minor units: 10,000,000,000.00. */
export const MAX_MINOR = 1_000_000_000_000;
/** The longest user id, in characters (ASCII only, so an input's `maxlength` counts it right). */
export const MAX_USER_ID = 64;
/**
 * The longest order description, in characters as a person counts them (code points). Checked
 * here, not with `maxlength`, which counts UTF-16 units and would stop at 250 emoji.
 */
export const MAX_DESCRIPTION = 500;

const USER_ID = /^[A-Za-z0-9_.@-]{1,64}$/;
// Dots alone are a path segment's "here" or "up": the services refuse them as a user id.
const ONLY_DOTS = /^\.+$/;
// Control characters (tabs and newlines included) and halves of a surrogate pair: no field takes them.
const CONTROL = /\p{Cc}/u;
const LONE_SURROGATE = /[\ud800-\udfff]/u;

/** What is wrong with `value` as a user id, for a person; null when nothing is. */
export const userIdProblem = (value) => {
  if (typeof value !== 'string' || !USER_ID.test(value)) return 'Use 1 to 64 characters: letters, digits, and _ . @ -';
  if (ONLY_DOTS.test(value)) return 'Use a letter or a digit too, not dots alone.';
  return null;
};

/** What is wrong with `value` as an order's description; null when nothing is. */
export const descriptionProblem = (value) => {
  if (typeof value !== 'string') return 'Describe the order in words.';
  if ([...value].length > MAX_DESCRIPTION) return `At most ${MAX_DESCRIPTION} characters.`;
  if (CONTROL.test(value)) return 'Keep it to one line, without tabs or control characters.';
  if (LONE_SURROGATE.test(value)) return 'Some characters could not be read; type them again.';
  return null;
};

/** What is wrong with `minor` as an amount in minor units; null when nothing is. */
export const amountProblem = (minor) => {
  if (!Number.isSafeInteger(minor)) return 'Enter a whole number of cents.';
  if (minor <= 0) return 'The amount must be more than 0.';
  if (minor > MAX_MINOR) return 'The amount is over the limit.';
  return null;
};
