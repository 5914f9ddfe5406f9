import fc from 'fast-check';
import { bodyOf, contentType } from './bodies.js';
import {
  type Caller,
  type FuzzRequest,
  OTHERS,
  type QueryValue,
  type Segment,
  short,
  type SignedIn,
  USER_OF,
  withToString,
} from './fuzz-request.js';
import type { Operation, Parameter, SpecModel } from './spec-model.js';

/*
 * Requests to the API, generated from the operations of docs/openapi.yaml: bodies (bodies.ts),
 * path and query parameters (valid ids, others' ids, garbage), Idempotency-Keys (valid, empty,
 * blank, too long, not printable) and callers (alice, bob, an administrator, nobody, a bad token).
 */

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
