import { pino } from 'pino';

type Fields = Record<string, unknown>;

// A Postgres error (node-postgres's DatabaseError, PGlite's): a five-character SQLSTATE with a
// severity. Its `detail`, `where`, `hint` and `internalQuery` quote the row, the key or the JSON
// it refused (`Key (user_id)=(alice)`, `Failing row contains (…)`), so none of them is logged.
const isDatabaseError = (err: Fields): boolean =>
  typeof err['code'] === 'string' && /^[0-9A-Z]{5}$/.test(err['code']) && typeof err['severity'] === 'string';

// What a database error may name without quoting data: the objects and types of the schema.
const NAMES = ['constraint', 'table', 'column', 'schema', 'dataType'];

/** `message` with every quoted value masked, keeping the quoted names of the error's own objects. */
const withoutValues = (message: string, err: Fields): string => {
  const names = new Set(NAMES.map((key) => err[key]).filter((v): v is string => typeof v === 'string'));
  names.add('UTF8'); // "invalid byte sequence for encoding "UTF8"": the encoding, not a value
  return message.replace(/"([^"]*)"/g, (quoted, inner: string) => (names.has(inner) ? quoted : '"…"'));
};

const databaseError = (err: Fields): Fields => {
  const safe: Fields = {
    // node-postgres names its errors after the protocol message ("error"); PGlite's class is
    // minified. Both are the same DatabaseError of pg-protocol.
    type: 'DatabaseError',
    code: err['code'],
    message: withoutValues(String(err['message'] ?? ''), err),
  };
  for (const key of ['statement', 'severity', 'routine', ...NAMES]) if (err[key] !== undefined) safe[key] = err[key];
  return safe;
};

// Fields any error may carry that hold request data rather than describe the failure.
const CARRY_VALUES = ['params', 'parameters', 'values', 'queryOptions', 'body', 'detail', 'where', 'internalQuery'];

/**
 * The `err` serializer of every log line: the error's class, code and message, and for a database
 * error the statement that failed, but never the values it was given nor the bodies it came from.
 */
export const safeError = (err: unknown): unknown => {
  if (typeof err !== 'object' || err === null) return err;
  const fields = err as Fields;
  if (isDatabaseError(fields)) return databaseError(fields);
  const safe = pino.stdSerializers.err(err as Error) as unknown as Fields;
  for (const key of CARRY_VALUES) delete safe[key];
  const cause = fields['cause'];
  if (typeof cause === 'object' && cause !== null && isDatabaseError(cause as Fields)) {
    // pino folds a cause's message and stack into the error's own: keep them apart, cleaned.
    safe['message'] = fields['message'];
    safe['stack'] = fields['stack'];
    safe['cause'] = databaseError(cause as Fields);
  }
  return safe;
};

/** One line of text for an error, as `safeError` would show it. */
export const errorText = (err: unknown): string => {
  if (typeof err !== 'object' || err === null) return String(err);
  const fields = err as Fields;
  if (isDatabaseError(fields)) {
    const safe = databaseError(fields);
    return `${String(safe['type'])} ${String(safe['code'])}: ${String(safe['message'])}`;
  }
  return err instanceof Error ? err.message : String(err);
};
