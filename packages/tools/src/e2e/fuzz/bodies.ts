import fc from 'fast-check';
import { BAD_BYTES_MARK, type Caller, OTHERS, short, type SignedIn, USER_OF } from './fuzz-request.js';
import type { BodyField, Operation } from './spec-model.js';

/*
 * JSON bodies from an operation's request schema: valid ones, and mutations of them (missing or
 * mistyped fields, out-of-range numbers, text with control characters or invalid Unicode, long
 * and huge text, extra fields, malformed JSON), and the content types they are declared with.
 */

/** A piece of JSON text for a body field, and what makes it wrong (if anything). */
interface Piece {
  readonly json: string;
  readonly wrong?: string;
}

const INVALID_TEXT: readonly [string, string][] = [
  ['\u0000', 'NUL'],
  ['a\u0001b', 'control character U+0001'],
  ['line\nbreak', 'control character LF'],
  ['tab\there', 'control character TAB'],
  ['\u001f', 'control character U+001F'],
  ['del\u007f', 'control character DEL'],
  ['c1\u0085', 'C1 control character U+0085'],
  ['\ud800', 'lone high surrogate'],
  ['x\udfffy', 'lone low surrogate'],
  ['\udc00\ud800', 'reversed surrogate pair'],
];

const isCleanChar = (c: string): boolean => !/[\p{Cc}\p{Cs}\p{Cn}\p{Co}\p{Zl}\p{Zp}]/u.test(c);
const cleanText = (maxLength: number): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.string({ maxLength: Math.min(maxLength, 30) }) },
    {
      weight: 2,
      arbitrary: fc.string({
        unit: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }).filter(isCleanChar),
        maxLength: Math.min(maxLength, 30),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom('', 'a book', '😀'.repeat(maxLength), 'é'.repeat(maxLength), 'x'.repeat(maxLength)),
    },
  );

const mistyped: readonly [string, string][] = [
  ['null', 'null'],
  ['true', 'a boolean'],
  ['[]', 'an array'],
  ['{}', 'an object'],
  ['"100"', 'a numeric string'],
  ['12', 'a number'],
];

/**
 * Strings a schema's `pattern` accepts. fast-check generates from a pattern without lookaheads
 * (it cannot from one with them); the whole pattern, read as JSON Schema reads it (Unicode), then
 * keeps only what it accepts.
 */
const matching = (pattern: string): fc.Arbitrary<string> => {
  const whole = new RegExp(pattern, 'u');
  return fc.stringMatching(new RegExp(pattern.replace(/\(\?[=!][^)]*\)/g, ''))).filter((value) => whole.test(value));
};

/** Valid and invalid values of one field, from its schema (and the contract's text rules). */
const fieldPiece = (field: BodyField, caller: Caller): fc.Arbitrary<Piece> => {
  const s = field.schema;
  const label = (wrong: string) => `${field.name}: ${wrong}`;
  const badType = fc.constantFrom(...mistyped).map(([json, what]) => ({ json, wrong: label(what) }));
  if (field.component === 'UserId') {
    const self = caller in USER_OF ? USER_OF[caller as SignedIn] : 'alice';
    const valid = fc.oneof(
      { weight: 6, arbitrary: fc.constant(self) },
      { weight: 3, arbitrary: fc.constantFrom('alice', 'bob', ...OTHERS) },
      { weight: 1, arbitrary: matching(String(s.pattern)) },
    );
    const invalid = fc.oneof(
      fc.constantFrom(
        '',
        'a b',
        'x'.repeat(Number(s.maxLength) + 1),
        'ä',
        '../etc',
        'alice\u0000',
        'bob\ud800',
        '<script>',
      ),
      fc.string({ minLength: 1, maxLength: 70 }).filter((v) => !new RegExp(String(s.pattern)).test(v)),
    );
    return fc.oneof(
      { weight: 8, arbitrary: valid.map((v) => ({ json: JSON.stringify(v) })) },
      { weight: 2, arbitrary: invalid.map((v) => ({ json: JSON.stringify(v), wrong: label(`invalid ${short(v)}`) })) },
      { weight: 1, arbitrary: badType },
    );
  }
  if (s.type === 'integer') {
    const min = Number(s.minimum);
    const max = Number(s.maximum);
    const valid = fc.oneof(
      { weight: 8, arbitrary: fc.integer({ min, max: Math.min(max, 3_000) }).map(String) },
      { weight: 2, arbitrary: fc.integer({ min, max }).map(String) },
      { weight: 1, arbitrary: fc.constantFrom(String(min), String(max), '1e2', '5.0') },
    );
    const invalid = fc.constantFrom(
      ['0', 'zero'],
      ['-1', 'negative'],
      ['-0', 'minus zero'],
      [String(max + 1), 'one over the maximum'],
      ['9007199254740993', 'beyond 2^53'],
      ['1e400', 'infinite'],
      ['1.5', 'a fraction'],
      ['1e-7', 'a tiny fraction'],
    );
    return fc.oneof(
      { weight: 8, arbitrary: valid.map((json) => ({ json })) },
      { weight: 2, arbitrary: invalid.map(([json, what]) => ({ json, wrong: label(what) })) },
      { weight: 1, arbitrary: badType.filter((p) => p.json !== '12') },
    );
  }
  const maxLength = Number(s.maxLength ?? 1000);
  const invalid = fc.oneof(
    fc.constantFrom(...INVALID_TEXT).map(([v, what]) => ({ json: JSON.stringify(v), wrong: label(what) })),
    fc
      .tuple(cleanText(20), fc.constantFrom(...INVALID_TEXT), cleanText(20))
      .map(([a, [v, what], b]) => ({ json: JSON.stringify(a + v + b), wrong: label(`${what} inside`) })),
    fc.constant({ json: JSON.stringify('😀'.repeat(maxLength + 1)), wrong: label(`${maxLength + 1} code points`) }),
    fc.constant({ json: JSON.stringify('x'.repeat(maxLength + 1)), wrong: label(`${maxLength + 1} characters`) }),
    fc.constant({ json: `"bad ${BAD_BYTES_MARK} utf-8"`, wrong: label('bytes that are not UTF-8') }),
  );
  return fc.oneof(
    { weight: 7, arbitrary: cleanText(maxLength).map((v) => ({ json: JSON.stringify(v) })) },
    { weight: 3, arbitrary: invalid },
    { weight: 1, arbitrary: badType.filter((p) => p.json !== '"100"') },
  );
};

/** Fields a body may carry that the API does not know: to be ignored, never obeyed. */
const extraField = fc.constantFrom(
  ['status', '"FINISHED"'],
  ['id', '"00000000-0000-4000-8000-000000000000"'],
  ['balance', '1000000'],
  ['failure_reason', '"insufficient_funds"'],
  ['__proto__', '{"amount":1}'],
  ['constructor', '{"prototype":{}}'],
  ['nested', '{"a":[1,{"b":null}]}'],
);

export const bodyOf = (op: Operation, caller: Caller): fc.Arbitrary<{ text: string; mutations: string[] }> => {
  const fields = op.body?.fields ?? [];
  const present = fields.map((f) =>
    fc.record({
      // Required fields are there unless dropped on purpose; optional ones come and go.
      keep: f.required
        ? fc.oneof({ weight: 19, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) })
        : fc.boolean(),
      piece: fieldPiece(f, caller),
    }),
  );
  const object = fc
    .tuple(fc.tuple(...present), fc.option(fc.array(extraField, { maxLength: 2 }), { freq: 4 }))
    .map(([chosen, extras]) => {
      const mutations: string[] = [];
      const parts: string[] = [];
      chosen.forEach(({ keep, piece }, i) => {
        const field = fields[i]!;
        if (!keep) {
          if (field.required) mutations.push(`${field.name}: missing`);
          return;
        }
        parts.push(`${JSON.stringify(field.name)}:${piece.json}`);
        if (piece.wrong) mutations.push(piece.wrong);
      });
      for (const [name, json] of extras ?? []) parts.push(`${JSON.stringify(name)}:${json}`);
      if (extras?.length) mutations.push(`extra fields ${extras.map(([n]) => n).join(', ')} (to be ignored)`);
      return { text: `{${parts.join(',')}}`, mutations };
    });
  const malformed = fc.constantFrom(
    ['', 'empty body'],
    ['{', 'truncated JSON'],
    ['{"amount":}', 'malformed JSON'],
    ["{'amount':1}", 'single quotes'],
    ['{"amount":1,}', 'trailing comma'],
    ['{"amount":1}x', 'trailing garbage'],
    ['null', 'JSON null'],
    ['[{"amount":1}]', 'a JSON array'],
    ['123', 'a JSON number'],
    ['"amount"', 'a JSON string'],
    ['{"amount":1\u0000}', 'raw NUL in JSON'],
    ['amount=1&user_id=alice', 'a form body'],
    [`{"description":"${'x'.repeat(70_000)}","amount":1}`, 'a body over 64 KiB'],
    [`${'['.repeat(5_000)}${']'.repeat(5_000)}`, 'deeply nested arrays'],
  );
  return fc.oneof(
    { weight: 12, arbitrary: object },
    { weight: 2, arbitrary: malformed.map(([text, what]) => ({ text, mutations: [what] })) },
  );
};

export const contentType = fc.oneof(
  {
    weight: 14,
    arbitrary: fc.constant({ value: 'application/json' as string | undefined, wrong: undefined as string | undefined }),
  },
  {
    weight: 2,
    arbitrary: fc
      .constantFrom('application/json; charset=utf-8', 'Application/JSON')
      .map((value) => ({ value, wrong: undefined })),
  },
  {
    weight: 2,
    arbitrary: fc
      .constantFrom(
        undefined,
        'text/plain',
        'application/x-www-form-urlencoded',
        'application/xml',
        'multipart/form-data; boundary=x',
      )
      .map((value) => ({ value, wrong: `Content-Type ${value ?? 'absent'}` })),
  },
);
