// What a Postgres database refuses to store as text, checked where the engine cannot see it.
//
// Postgres refuses U+0000 in `text` and `jsonb` (SQLSTATE 22021, 22P05). A lone surrogate never
// reaches it: node-postgres and PGlite encode parameters as UTF-8, which turns it silently into
// U+FFFD, so a stored string would differ from the one written. Both adapters therefore refuse it
// before sending, and the in-memory database refuses both, so that all three fail alike and a gap
// in the domain's validation shows in the contract suites instead of in production.

const LONE_SURROGATE = /[\ud800-\udfff]/u;

/** The error a database gives for text it cannot store: `code` is Postgres's SQLSTATE. */
export class UnstorableText extends Error {
  override readonly name = 'UnstorableText';
  readonly code = '22021'; // character_not_in_repertoire

  constructor(what: string) {
    super(`invalid byte sequence for encoding "UTF8": ${what}`);
  }
}

const problemOf = (value: string, nul: boolean): string | undefined => {
  if (nul && value.includes('\u0000')) return '0x00';
  if (LONE_SURROGATE.test(value)) return 'a lone surrogate';
  return undefined;
};

/**
 * Throws `UnstorableText` if any string in `value` (at any depth of arrays and plain objects)
 * holds a lone surrogate, or, with `nul`, U+0000. Walked without recursion.
 */
export const refuseUnstorableText = (value: unknown, nul: boolean): void => {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const next = pending.pop();
    if (typeof next === 'string') {
      const problem = problemOf(next, nul);
      if (problem !== undefined) throw new UnstorableText(problem);
    } else if (Array.isArray(next)) {
      pending.push(...(next as unknown[]));
    } else if (typeof next === 'object' && next !== null && Object.getPrototypeOf(next) === Object.prototype) {
      pending.push(...Object.keys(next), ...Object.values(next));
    }
  }
};

/** Checks the parameters of a statement: lone surrogates only; Postgres itself refuses U+0000. */
export const checkParams = (params: readonly unknown[] | undefined): void => {
  if (params)
    for (const param of params)
      if (typeof param === 'string' || Array.isArray(param)) refuseUnstorableText(param, false);
};
