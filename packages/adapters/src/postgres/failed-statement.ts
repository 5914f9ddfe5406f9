/** How much of a statement's text names it in an error. */
const LABEL_CHARS = 80;

// What the drivers put on an error that holds the statement's values: PGlite attaches the
// parameters themselves (`params`) and the options they were sent with.
const CARRY_VALUES = ['params', 'queryOptions', 'query'];

/**
 * Marks a driver's error with the statement that failed, named by the start of its text (SQL with
 * `$n` placeholders, never a value), and takes off what would carry its parameters into a log
 * line. The error is otherwise left as it is: callers match on its SQLSTATE `code`.
 */
export const failedStatement = (err: unknown, text: string): unknown => {
  if (typeof err !== 'object' || err === null) return err;
  const fields = err as Record<string, unknown>;
  for (const key of CARRY_VALUES) delete fields[key];
  const label = text.replace(/\s+/g, ' ').trim();
  fields['statement'] = label.length > LABEL_CHARS ? `${label.slice(0, LABEL_CHARS)}…` : label;
  return err;
};
