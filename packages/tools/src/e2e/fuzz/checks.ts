import { isDeepStrictEqual } from 'node:util';
import { type FuzzRequest, type SignedIn, USER_OF } from './fuzz-request.js';
import type { Answer, Expectation, World } from './oracle.js';
import { changes, orderCount, type Snapshot } from './snapshot.js';
import type { Json, SpecModel } from './spec-model.js';

/*
 * The checks of one answer against the contract and docs/openapi.yaml, and of what it changed.
 * A problem is named by its kind, so that findings of one defect group together.
 */

export type Problem = [kind: string, text: string];

const short = (s: string): string => (s.length > 300 ? `${s.slice(0, 300)}…` : s);
const SNAKE = /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/;
const LEAK = /\n\s+at |\bSELECT\b|\bINSERT\b|\bUPDATE\b|postgres:\/\/|amqp:\/\/|node_modules/;

/** What is wrong with an answer itself: its status, its shape, what it shows. */
export const checkAnswer = (spec: SpecModel, world: World, r: FuzzRequest, e: Expectation, a: Answer): Problem[] => {
  const problems: Problem[] = [];
  const op = r.op === 'no-route' ? undefined : spec.byId(r.op);
  if (a.status >= 500) problems.push(['5xx', `a ${a.status} (no input may cause a server error)`]);
  else if (a.status === 429) {
    if (!a.headers['retry-after']) problems.push(['shape', '429 without Retry-After']);
  } else if (!e.allowed.has(a.status)) {
    problems.push(['status', `expected ${[...e.allowed].join(' or ')} (${e.why}), got ${a.status}`]);
  }
  if (op && a.status !== 429 && !op.responses.has(a.status)) {
    problems.push(['undocumented', `${a.status} is not documented for ${op.id} in docs/openapi.yaml`]);
  }
  let body: Json;
  try {
    body = JSON.parse(a.body) as Json;
  } catch {
    return [...problems, ['shape', `the answer is not JSON (content-type ${a.headers['content-type'] ?? 'none'})`]];
  }
  if (!/^application\/json\b/.test(a.headers['content-type'] ?? '')) {
    problems.push(['shape', `content-type ${a.headers['content-type'] ?? 'none'}, not application/json`]);
  }
  if (a.status >= 400) problems.push(...checkError(spec, r, a, body).map((p): [string, string] => ['shape', p]));
  else if (a.status < 300) problems.push(...checkSuccess(world, r, e, a, body));
  const validate = op?.answerValidator(a.status);
  if (validate && a.status < 500 && !validate(body)) {
    problems.push([
      'schema',
      `the answer does not match its schema in docs/openapi.yaml: ${spec.errorsText(validate)}`,
    ]);
  }
  return problems;
};

const checkError = (spec: SpecModel, r: FuzzRequest, a: Answer, body: Json): string[] => {
  const problems: string[] = [];
  const error = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  if (
    !body ||
    typeof body !== 'object' ||
    Array.isArray(body) ||
    Object.keys(body).join() !== 'error' ||
    !error ||
    typeof error !== 'object'
  ) {
    return [`not {"error":{…}}: ${short(a.body)}`];
  }
  if (Object.keys(error).sort().join() !== 'code,message')
    problems.push(`error has keys ${Object.keys(error).join(', ')}`);
  const code = typeof error.code === 'string' ? error.code : '';
  if (!SNAKE.test(code)) problems.push(`code ${JSON.stringify(error.code)} is not snake_case`);
  if (typeof error.message !== 'string' || error.message === '') problems.push('message is not a non-empty string');
  else if (LEAK.test(error.message)) problems.push(`message leaks internals: ${short(error.message)}`);
  const documented = r.op === 'no-route' ? undefined : spec.byId(r.op).responses.get(a.status);
  const expected: Record<number, string> = { 401: 'unauthorized', 403: 'forbidden', 429: 'rate_limited' };
  if (r.op === 'no-route') expected[404] = 'not_found';
  if (r.op === 'no-route') expected[405] = 'method_not_allowed';
  if (expected[a.status] && code !== expected[a.status]) problems.push(`code ${code}, expected ${expected[a.status]}`);
  else if (documented?.length && !documented.includes(code))
    problems.push(`code ${code} is not documented for ${a.status} (${documented.join(', ')})`);
  if (a.status === 401 && !/^Bearer\b/.test(a.headers['www-authenticate'] ?? ''))
    problems.push('401 without WWW-Authenticate: Bearer');
  if (a.status === 405 && !a.headers.allow) problems.push('405 without Allow');
  return problems;
};

const checkSuccess = (world: World, r: FuzzRequest, e: Expectation, a: Answer, body: Json): Problem[] => {
  const problems: Problem[] = [];
  const effect = e.effect;
  const self = r.caller in USER_OF ? USER_OF[r.caller as SignedIn] : undefined;
  const items = (Array.isArray(body) ? body : [body]) as { user_id?: unknown }[];
  if (r.caller !== 'admin' && items.some((item) => item?.user_id !== self)) {
    problems.push(['identity', `${r.caller} was answered another user's data`]);
  }
  if (!effect) return problems;
  const o = body as Record<string, Json>;
  if (effect.replayOf) {
    if (!isDeepStrictEqual(JSON.parse(effect.replayOf.body), body)) {
      problems.push([
        'idempotency',
        `a retry with the same key was answered differently: first ${short(effect.replayOf.body)}`,
      ]);
    }
    return problems;
  }
  switch (effect.kind) {
    case 'account':
      if (!isDeepStrictEqual(body, { user_id: effect.target, balance: 0 }))
        problems.push(['effect', `expected a new account of ${effect.target} with balance 0`]);
      break;
    case 'deposit': {
      const credited = (world.deposits.get(effect.target) ?? 0) + effect.amount!;
      if (
        o.user_id !== effect.target ||
        typeof o.balance !== 'number' ||
        o.balance < effect.amount! ||
        o.balance > credited
      ) {
        problems.push([
          'effect',
          `expected ${effect.target}'s account with a balance from ${effect.amount} to ${credited}`,
        ]);
      }
      break;
    }
    case 'order':
      if (
        o.status !== 'NEW' ||
        o.user_id !== effect.target ||
        o.amount !== effect.amount ||
        o.description !== effect.description
      ) {
        problems.push([
          'effect',
          `expected a NEW order of ${effect.target} for ${effect.amount}, ${JSON.stringify(effect.description)}`,
        ]);
      }
      break;
    case 'read-order':
      if (o.id !== effect.orderId || o.user_id !== effect.target)
        problems.push(['effect', `expected order ${effect.orderId} of ${effect.target}`]);
      break;
    case 'balance':
      if (
        o.user_id !== effect.target ||
        typeof o.balance !== 'number' ||
        o.balance < 0 ||
        o.balance > (world.deposits.get(effect.target) ?? 0)
      ) {
        problems.push(['effect', `expected ${effect.target}'s balance, between 0 and what was deposited`]);
      }
      break;
    case 'list': {
      const list = Array.isArray(body) ? (body as { id: string; user_id: string; created_at: string }[]) : [];
      const known = world.orders.get(effect.target) ?? [];
      // Without a cursor, a listing is the newest `limit` of what the test made; `limit` unknown: at most 200.
      const exact = effect.target !== '' && effect.limit !== undefined && !r.query.some(([k]) => k === 'cursor');
      const limit = effect.limit ?? 200;
      if (!Array.isArray(body)) problems.push(['effect', 'a listing that is not an array']);
      if (list.length > limit) problems.push(['paging', `${list.length} orders, more than limit ${limit}`]);
      if (effect.target !== '' && list.some((x) => !known.includes(x.id))) {
        problems.push(['effect', `orders listed that are not ${effect.target}'s`]);
      }
      if (list.some((x, i) => i > 0 && x.created_at > list[i - 1]!.created_at)) {
        problems.push(['effect', 'not newest first']);
      }
      if (exact && list.length < Math.min(limit, known.length)) {
        problems.push([
          'effect',
          `${list.length} orders listed, but ${effect.target} has ${known.length} (limit ${limit})`,
        ]);
      }
      if (exact && known.length > limit && !/rel="?next"?/.test(a.headers.link ?? '')) {
        problems.push([
          'paging',
          `${effect.target} has ${known.length} orders, more than limit ${limit}, and no Link rel="next"`,
        ]);
      }
      break;
    }
  }
  return problems;
};

/** What is wrong with what an answered request changed in the databases. */
export const checkEffect = (
  e: Expectation,
  a: Answer,
  before: Snapshot,
  after: Snapshot,
  self: string,
  r: FuzzRequest,
): Problem[] => {
  const { users, keys } = changes(before, after);
  const changed = [...users].join(', ');
  if (a.status >= 400 || a.status < 200) {
    const problems: Problem[] = [];
    if (users.size) problems.push(['changed-on-4xx', `a ${a.status} changed the accounts or orders of ${changed}`]);
    if (keys) problems.push(['changed-on-4xx', `a ${a.status} stored an Idempotency-Key`]);
    return problems;
  }
  const problems: Problem[] = [];
  const effect = e.effect;
  const writes = effect && !effect.replayOf && ['account', 'deposit', 'order'].includes(effect.kind);
  const allowed = new Set(writes ? [effect.target] : []);
  if (r.caller !== 'admin' && [...users].some((u) => u !== self)) {
    problems.push(['identity', `a ${a.status} to ${r.caller} changed the accounts or orders of ${changed}`]);
  }
  const others = [...users].filter((u) => !allowed.has(u) && (r.caller === 'admin' || u === self));
  if (others.length) {
    problems.push(['effect', `a ${a.status} to ${r.caller} changed the accounts or orders of ${others.join(', ')}`]);
  }
  if (keys && !(writes && effect.keyId))
    problems.push(['idempotency', 'an Idempotency-Key was stored by a request that had none to store, or by a retry']);
  if (!effect || !writes) return problems;
  const { target } = effect;
  if (
    effect.kind === 'deposit' &&
    Number.isSafeInteger(effect.amount) &&
    (after.credited.get(target) ?? 0n) - (before.credited.get(target) ?? 0n) !== BigInt(effect.amount!)
  ) {
    problems.push([
      'effect',
      `a deposit of ${effect.amount} credited ${target} ${(after.credited.get(target) ?? 0n) - (before.credited.get(target) ?? 0n)}`,
    ]);
  }
  if (effect.kind === 'order' && orderCount(after, target) !== orderCount(before, target) + 1) {
    problems.push([
      'effect',
      `an order answered 201 made ${orderCount(after, target) - orderCount(before, target)} orders`,
    ]);
  }
  if (effect.kind === 'account' && after.credited.get(target) !== 0n)
    problems.push(['effect', `no new empty account for ${target}`]);
  return problems;
};
