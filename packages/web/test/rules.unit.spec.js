import { readFile } from 'node:fs/promises';
import { URL } from 'node:url';
import { expect } from 'chai';
import {
  checkDescription,
  isDomainError,
  MAX_AMOUNT,
  MAX_DESCRIPTION as CORE_MAX_DESCRIPTION,
  Money,
  UserId,
} from '@gozon/core';
import { formatMinor, parseAmount } from '../public/money.js';
import {
  amountProblem,
  descriptionProblem,
  MAX_DESCRIPTION,
  MAX_MINOR,
  MAX_USER_ID,
  userIdProblem,
} from '../public/rules.js';

/** Whether core's `rule` takes `value`: it throws a DomainError for what it refuses. */
const coreTakes = (rule, value) => {
  try {
    rule(value);
    return true;
  } catch (err) {
    if (isDomainError(err)) return false;
    throw err;
  }
};

const show = (value) =>
  typeof value === 'string' && value.length > 40 ? `${value.slice(0, 12)}… (${value.length})` : JSON.stringify(value);

const agree = (name, pageProblem, coreRule, inputs) => {
  for (const value of inputs) {
    it(`${name} ${show(value)}: the page ${coreTakes(coreRule, value) ? 'takes' : 'refuses'} it as core does`, () => {
      expect(pageProblem(value) === null, `page says ${pageProblem(value)}`).to.equal(coreTakes(coreRule, value));
    });
  }
};

// Each list holds inputs core takes and inputs it refuses, near every edge of the rule.
const userIds = [
  'a',
  'user-1',
  'a.b_c-d@e',
  'first.last@example.com',
  '.a',
  'a..',
  'x'.repeat(64),
  '',
  'x'.repeat(65),
  'has space',
  'ünï',
  'a/b',
  'a%2e',
  '.',
  '..',
  '...',
  '.'.repeat(64),
  'user\u0000',
  'a\tb',
  'a\nb',
  'a\u0085',
  'a\ud800',
  42,
  null,
];
const descriptions = [
  '',
  'a book',
  'naïve café ☕',
  '😀 emoji',
  'ü\u00a0no-break',
  '\u2028 line separator',
  'x'.repeat(500),
  '😀'.repeat(500),
  'x'.repeat(501),
  '😀'.repeat(501),
  'a\tb',
  'a\nb',
  '\u0000',
  '\u001b[31m',
  '\u007f',
  '\u0085',
  '\u009f',
  'a\ud800b',
  '\udfff',
  42,
];
const amounts = [
  1,
  2,
  99,
  100,
  1999,
  MAX_AMOUNT - 1,
  MAX_AMOUNT,
  0,
  -1,
  -100,
  MAX_AMOUNT + 1,
  1.5,
  Number.NaN,
  2 ** 60,
  '100',
  null,
];

describe('the page keeps the services’ rules', () => {
  it('has the same limits', () => {
    expect(MAX_MINOR).to.equal(MAX_AMOUNT);
    expect(MAX_DESCRIPTION).to.equal(CORE_MAX_DESCRIPTION);
    expect(userIdProblem('x'.repeat(MAX_USER_ID))).to.equal(null);
    expect(userIdProblem('x'.repeat(MAX_USER_ID + 1))).not.to.equal(null);
  });

  it('limits the inputs of the page as the rules do', async () => {
    const html = await readFile(new URL('../public/index.html', import.meta.url), 'utf8');
    const limits = [...html.matchAll(/<input\s[^>]*?id="([^"]+)"[^>]*?maxlength="(\d+)"/g)].map(([, id, max]) => [
      id,
      Number(max),
    ]);
    expect(limits).to.deep.equal([['user-id', MAX_USER_ID]]);
  });

  agree('user id', userIdProblem, (value) => UserId(value), userIds);
  agree('description', descriptionProblem, checkDescription, descriptions);
  agree('amount', amountProblem, (value) => Money.amount(value), amounts);

  // What a person types goes through parseAmount; written back from minor units, each amount
  // core takes is taken, and each it refuses is refused.
  for (const minor of amounts.filter((value) => Number.isSafeInteger(value))) {
    it(`amount typed as ${formatMinor(minor)}: the page ${coreTakes((v) => Money.amount(v), minor) ? 'takes' : 'refuses'} it as core does`, () => {
      const parsed = parseAmount(formatMinor(minor));
      expect(parsed.ok).to.equal(coreTakes((value) => Money.amount(value), minor));
      if (parsed.ok) expect(parsed.minor).to.equal(minor);
    });
  }
});
