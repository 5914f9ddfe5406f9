import fc from 'fast-check';
import type { BodyField, JsonObject, Operation, Parameter, SpecModel } from './spec-model.js';

/*
 * Requests to the API, generated from the operations of docs/openapi.yaml: valid ones, and
 * mutations of them (missing or mistyped fields, out-of-range numbers, text with control
 * characters or invalid Unicode, huge bodies, malformed JSON, wrong content types, bad
 * Idempotency-Keys, others' ids, garbage in the path and query, no or a bad token).
 * A request is symbolic where the value is only known while the test runs (tokens, order ids),
 * so that a counterexample reads the same on every replay and never shows a token.
 */

/** Who sends a request: the Authorization header it carries. */
export type Caller = 'alice' | 'bob' | 'admin' | 'anonymous' | 'not-a-jwt' | 'forged' | 'basic' | 'empty-bearer';
export const SIGNED_IN = ['alice', 'bob', 'admin'] as const;
export type SignedIn = (typeof SIGNED_IN)[number];
/** The user each signed-in caller is (the administrator's own id when it names nobody). */
export const USER_OF: Record<SignedIn, string> = { alice: 'alice', bob: 'bob', admin: 'e2e-admin' };
/** Users with no token of their own in the test; an administrator may act for them. */
const OTHERS = ['carol', 'dave.x@y-z_1'];

/** An order id known only at run time: the `index`-th order (modulo) of `owner`, or a fresh UUID if none. */
export interface OrderRef {
  readonly orderOf: string;
  readonly index: number;
}
/** The next-page cursor the last listing of the caller answered (garbage if none yet). */
export interface CursorRef {
  readonly cursor: 'from-link';
}
export type Segment = string | OrderRef;
export type QueryValue = string | CursorRef;

export interface FuzzRequest {
  /** The operationId, or `no-route` for a path or method the API does not have. */
  readonly op: string;
  readonly method: string;
  /** Path segments, each percent-encoded already, or an order to look up. */
  readonly path: readonly Segment[];
  /** Query pairs, each percent-encoded already. */
  readonly query: readonly (readonly [string, QueryValue])[];
  readonly caller: Caller;
  readonly idempotencyKey?: string | undefined;
  /** The Content-Type header (absent when undefined). */
  readonly contentType?: string | undefined;
  /** The body as text; `\uE000` stands for the bytes FF FE (not UTF-8) on the wire. */
  readonly body?: string | undefined;
  /** What was changed from a valid request, to read a counterexample. */
  readonly mutations: readonly string[];
}

export const BAD_BYTES_MARK = '\uE000';

const short = (s: string): string =>
  s.length > 120 ? `${JSON.stringify(s.slice(0, 80))}…(${s.length} chars)` : JSON.stringify(s);

/** A request as a person reads it: tokens by whose they are, long text cut short. */
export const describeRequest = (r: FuzzRequest): string => {
  const path = r.path.map((s) => (typeof s === 'string' ? s : `{${s.orderOf}'s order #${s.index}}`)).join('/');
  const query = r.query.map(([k, v]) => `${k}=${typeof v === 'string' ? v : '{cursor from Link}'}`).join('&');
  const headers = [`Authorization: <${r.caller}>`];
  if (r.idempotencyKey !== undefined) headers.push(`Idempotency-Key: ${short(r.idempotencyKey)}`);
  if (r.contentType !== undefined) headers.push(`Content-Type: ${r.contentType}`);
  const body = r.body === undefined ? '' : ` body ${short(r.body)}`;
  const why = r.mutations.length ? ` [${r.mutations.join('; ')}]` : ' [valid]';
  return `${r.method} /${path}${query ? `?${query}` : ''} (${headers.join(', ')})${body}${why}`;
};

const withToString = (r: FuzzRequest): FuzzRequest =>
  Object.defineProperty(r, fc.toStringMethod, { value: () => describeRequest(r), enumerable: false });

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
      { weight: 1, arbitrary: fc.stringMatching(new RegExp(String(s.pattern))) },
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

const bodyOf = (op: Operation, caller: Caller): fc.Arbitrary<{ text: string; mutations: string[] }> => {
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

const contentType = fc.oneof(
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

const idempotencyKey = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constant({ value: undefined as string | undefined, wrong: undefined as string | undefined }),
  },
  { weight: 4, arbitrary: fc.constantFrom('key-1', 'key-2', 'key-3').map((value) => ({ value, wrong: undefined })) },
  {
    weight: 2,
    arbitrary: fc
      .stringMatching(/^[\x21-\x7e][\x20-\x7e]{0,126}[\x21-\x7e]$/)
      .map((value) => ({ value, wrong: undefined })),
  },
  { weight: 1, arbitrary: fc.constant({ value: 'k'.repeat(128), wrong: undefined }) },
  {
    weight: 3,
    arbitrary: fc
      .constantFrom(
        ['', 'Idempotency-Key empty'],
        ['   ', 'Idempotency-Key blank'],
        ['k'.repeat(129), 'Idempotency-Key of 129 characters'],
        ['k'.repeat(5_000), 'Idempotency-Key of 5000 characters'],
        ['a\tb', 'Idempotency-Key with a TAB'],
        ['a\u0001b', 'Idempotency-Key with U+0001'],
        ['a\u007fb', 'Idempotency-Key with DEL'],
        ['caf\u00e9', 'Idempotency-Key with a non-ASCII byte'],
      )
      .map(([value, wrong]) => ({ value, wrong })),
  },
);

const caller = fc.oneof(
  { weight: 8, arbitrary: fc.constant<Caller>('alice') },
  { weight: 6, arbitrary: fc.constant<Caller>('bob') },
  { weight: 4, arbitrary: fc.constant<Caller>('admin') },
  { weight: 2, arbitrary: fc.constantFrom<Caller>('anonymous', 'not-a-jwt', 'forged', 'basic', 'empty-bearer') },
);

const enc = encodeURIComponent;
/** Path or query text that is no valid value: odd characters, bad percent-encodings, huge. */
const garbageParam = fc.oneof(
  fc.string({ minLength: 1, maxLength: 40 }).map(enc),
  fc.constantFrom(
    '%zz',
    '%',
    '%00',
    '%0A',
    '%ed%a0%80',
    '%c0%af',
    '%ff',
    '..%2F..%2Fetc',
    'x'.repeat(3_000),
    '%F0%9F%98%80',
    'a%20b',
  ),
);

const pathUser = (self: string, userParam: Parameter) =>
  fc.oneof(
    { weight: 6, arbitrary: fc.constant({ value: self, wrong: undefined as string | undefined }) },
    { weight: 3, arbitrary: fc.constantFrom('alice', 'bob', ...OTHERS).map((value) => ({ value, wrong: undefined })) },
    { weight: 2, arbitrary: garbageParam.map((value) => ({ value, wrong: `${userParam.name}: ${short(value)}` })) },
  );

/** A request for one documented operation. */
const forOperation = (op: Operation): fc.Arbitrary<FuzzRequest> =>
  caller.chain((who) => {
    const self = who in USER_OF ? USER_OF[who as SignedIn] : 'alice';
    const segments = op.path.split('/').slice(1);
    const pathParts = fc.tuple(
      ...segments.map((segment): fc.Arbitrary<{ value: Segment; wrong?: string | undefined }> => {
        const param = op.parameters.find((p) => p.in === 'path' && `{${p.name}}` === segment);
        if (!param) return fc.constant({ value: segment });
        if (param.component === 'UserId' || param.schema.pattern) return pathUser(self, param);
        return fc.oneof(
          {
            weight: 6,
            arbitrary: fc
              .record({ orderOf: fc.constantFrom('alice', 'bob', ...OTHERS), index: fc.nat(50) })
              .map((value) => ({ value })),
          },
          { weight: 1, arbitrary: fc.uuid().map((value) => ({ value })) },
          { weight: 2, arbitrary: garbageParam.map((value) => ({ value, wrong: `${param.name}: ${short(value)}` })) },
        );
      }),
    );
    const query = fc.tuple(...op.parameters.filter((p) => p.in === 'query').map((p) => queryParam(p, self)));
    const hasKey = op.parameters.some((p) => p.in === 'header' && p.name.toLowerCase() === 'idempotency-key');
    const body = op.body
      ? fc.tuple(bodyOf(op, who), contentType)
      : fc.constant([undefined, { value: undefined, wrong: undefined }] as const);
    return fc
      .tuple(pathParts, query, hasKey ? idempotencyKey : fc.constant({ value: undefined, wrong: undefined }), body)
      .map(([path, queryPairs, key, [b, type]]) => {
        const mutations = [
          ...path.flatMap((p) => (p.wrong ? [p.wrong] : [])),
          ...queryPairs.flatMap((q) => q.wrong),
          ...(key.wrong ? [key.wrong] : []),
          ...(b?.mutations ?? []),
          ...(type.wrong ? [type.wrong] : []),
        ];
        return withToString({
          op: op.id,
          method: op.method,
          path: path.map((p) => p.value),
          query: queryPairs.flatMap((q) => q.pairs),
          caller: who,
          idempotencyKey: key.value,
          contentType: op.body ? type.value : undefined,
          body: b?.text,
          mutations,
        });
      });
  });

/**
 * Values of a query parameter: the documented ones, and `limit` and `cursor` of GET /orders,
 * which the contract's paging rules add (1 to 200; an opaque cursor from a `Link` header).
 */
const queryParam = (p: Parameter, self: string): fc.Arbitrary<{ pairs: [string, QueryValue][]; wrong: string[] }> => {
  const one = (value: QueryValue, wrong?: string) => ({
    pairs: [[p.name, value]] as [string, QueryValue][],
    wrong: wrong ? [wrong] : [],
  });
  const none = { pairs: [] as [string, QueryValue][], wrong: [] as string[] };
  if (p.component === 'UserId' || p.schema.pattern) {
    return fc.oneof(
      { weight: 4, arbitrary: fc.constant(none) },
      { weight: 4, arbitrary: fc.constant(one(self)) },
      { weight: 1, arbitrary: fc.constant(one('')) },
      { weight: 3, arbitrary: fc.constantFrom('alice', 'bob', ...OTHERS).map((v) => one(v)) },
      { weight: 2, arbitrary: garbageParam.map((v) => one(v, `${p.name}: ${short(v)}`)) },
      {
        weight: 1,
        arbitrary: fc.constantFrom('alice', 'bob').map((other) => ({
          pairs: [
            [p.name, self],
            [p.name, other],
          ] as [string, QueryValue][],
          wrong: [`${p.name} twice`],
        })),
      },
    );
  }
  return fc.constant(none);
};

/** `limit` and `cursor` of GET /orders (from the contract; absent from the spec so far). */
const paging = fc.tuple(
  fc.oneof(
    { weight: 6, arbitrary: fc.constant({ pairs: [] as [string, QueryValue][], wrong: [] as string[] }) },
    {
      weight: 4,
      arbitrary: fc
        .oneof(fc.integer({ min: 1, max: 200 }), fc.constantFrom(1, 2, 200))
        .map((n) => ({ pairs: [['limit', String(n)]] as [string, QueryValue][], wrong: [] as string[] })),
    },
    {
      weight: 3,
      arbitrary: fc
        .constantFrom('0', '201', '-1', 'abc', '1.5', '', '1e2', '99999999999999999999', '%00')
        .map((v) => ({ pairs: [['limit', v]] as [string, QueryValue][], wrong: [`limit ${short(v)}`] })),
    },
  ),
  fc.oneof(
    { weight: 8, arbitrary: fc.constant({ pairs: [] as [string, QueryValue][], wrong: [] as string[] }) },
    {
      weight: 2,
      arbitrary: fc.constant({
        pairs: [['cursor', { cursor: 'from-link' }]] as [string, QueryValue][],
        wrong: [] as string[],
      }),
    },
    {
      weight: 2,
      arbitrary: garbageParam.map((v) => ({
        pairs: [['cursor', v]] as [string, QueryValue][],
        wrong: [`cursor ${short(v)}`],
      })),
    },
  ),
);

const withPaging = (arb: fc.Arbitrary<FuzzRequest>): fc.Arbitrary<FuzzRequest> =>
  fc.tuple(arb, paging).map(([r, [limit, cursor]]) =>
    withToString({
      ...r,
      query: [...r.query, ...limit.pairs, ...cursor.pairs],
      mutations: [...r.mutations, ...limit.wrong, ...cursor.wrong],
    }),
  );

/** Paths and methods the API does not have: 404 not_found or 405 method_not_allowed. */
const noRoute: fc.Arbitrary<FuzzRequest> = fc
  .tuple(
    caller,
    fc.constantFrom(
      ['DELETE', 'orders'],
      ['PUT', 'orders'],
      ['PATCH', 'payments/accounts'],
      ['GET', 'payments/accounts'],
      ['GET', 'payments/accounts/deposit'],
      ['GET', 'orders/x/y'],
      ['GET', 'payments/nothing'],
      ['POST', 'orders/00000000-0000-4000-8000-000000000000'],
      ['DELETE', 'payments/accounts/alice/balance'],
    ),
  )
  .map(([who, [method, path]]) =>
    withToString({
      op: 'no-route',
      method,
      path: path.split('/'),
      query: [],
      caller: who,
      mutations: ['no such route'],
    }),
  );

/** Every request the test sends: each documented operation alike, and a few routes that do not exist. */
export const requests = (spec: SpecModel): fc.Arbitrary<FuzzRequest> =>
  fc.oneof(
    ...spec.operations.map((op) => ({
      weight: op.body ? 4 : 3,
      arbitrary: op.id === 'listOrders' ? withPaging(forOperation(op)) : forOperation(op),
    })),
    { weight: 1, arbitrary: noRoute },
  );

export type { JsonObject };
