import { randomBytes } from 'node:crypto';

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,39}$/;

/**
 * A fresh name for something a run makes on a shared server, `gozon_test_<random>`. The prefix can
 * be changed with `GOZON_TEST_PREFIX`, so that a test can tell what one run made from what the
 * others running beside it on the same servers made.
 */
export const scratchName = (kind?: string): string => {
  const prefix = process.env['GOZON_TEST_PREFIX'] ?? 'gozon_test';
  if (!IDENTIFIER.test(prefix)) throw new Error(`GOZON_TEST_PREFIX must be a lowercase SQL name, got ${prefix}`);
  return [prefix, kind, randomBytes(6).toString('hex')].filter(Boolean).join('_');
};
