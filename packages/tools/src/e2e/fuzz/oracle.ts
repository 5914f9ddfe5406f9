import { BAD_BYTES_MARK, type FuzzRequest, type OrderRef, type SignedIn, USER_OF } from './fuzz-request.js';
import type { Json, JsonObject, SpecModel } from './spec-model.js';

/*
 * What an answer may be, worked out from the request and what the test has seen so far (which
 * accounts exist, whose orders are which, which Idempotency-Keys were used), from the contract
 * and docs/openapi.yaml. Where the contract leaves the order of two checks open (a bad body that
 * also names another user), either answer is allowed; where it is plain, only that one is.
 */

const USER_ID = /^[A-Za-z0-9_.@-]{1,64}$/;
const KEY = /^[\x20-\x7e]{1,128}$/;
const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const BODY_LIMIT = 64 * 1024;

export interface Answer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

interface KeyUse {
  readonly canonical: string;
  readonly raw: string;
  readonly status: number;
  readonly body: string;
}

/** What a request is expected to do, if it succeeds. */
export interface Effect {
  readonly kind: 'account' | 'deposit' | 'order' | 'list' | 'read-order' | 'balance';
  /** Whose account, orders or listing. */
  readonly target: string;
  readonly amount?: number;
  readonly description?: string;
  /** A retry of an earlier request with this key: it must answer that again and change nothing. */
  readonly replayOf?: KeyUse | undefined;
  readonly keyId?: string | undefined;
  readonly canonical?: string;
  /** The body as sent, to tell a retry from the same request in other words. */
  readonly raw?: string | undefined;
  readonly limit?: number;
  readonly orderId?: string;
}

export interface Expectation {
  /** The statuses the answer may have (429 comes on top, if rate limiting counts it). */
  readonly allowed: ReadonlySet<number>;
  /** Why, status by status, for a failure's message. */
  readonly why: string;
  readonly effect?: Effect | undefined;
}

/** What an HTTP/1.1 parser refuses in a header value (RFC 9110 §5.5): controls other than tab. */
// eslint-disable-next-line no-control-regex
const NOT_HTTP = /[\x00-\x08\x0a-\x1f\x7f]/;

/** Text that the contract says a text field must refuse: control characters, invalid Unicode. */
export const badText = (s: string): boolean =>
  /\p{Cc}/u.test(s) || /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);

const decode = (segment: string): string | undefined => {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
};

/** The bytes of a request's body on the wire. */
export const bodyBytes = (text: string): Buffer =>
  Buffer.concat(
    text
      .split(BAD_BYTES_MARK)
      .flatMap((part, i) => (i ? [Buffer.from([0xff, 0xfe]), Buffer.from(part)] : [Buffer.from(part)])),
  );

export class World {
  /** Users known to have an account (every account is opened by a request the test sent). */
  readonly accounts = new Set<string>();
  /** user → sum of the deposits that answered 2xx (retries of a key counted once). */
  readonly deposits = new Map<string, number>();
  /** owner → ids of their orders, oldest first. */
  readonly orders = new Map<string, string[]>();
  /** The last `Link: rel="next"` cursor each caller was given, per listed user. */
  readonly cursors = new Map<string, string>();
  private readonly keys = new Map<string, KeyUse>();

  constructor(private readonly spec: SpecModel) {}

  orderId(ref: OrderRef): string {
    const ids = this.orders.get(ref.orderOf) ?? [];
    return ids.length ? ids[ref.index % ids.length]! : '6f1c1e2a-0000-4000-8000-000000000000';
  }

  ownerOf(id: string): string | undefined {
    for (const [owner, ids] of this.orders) if (ids.includes(id)) return owner;
    return undefined;
  }

  cursorFor(caller: string, target: string): string {
    return this.cursors.get(`${caller}|${target}`) ?? 'no-cursor-given-yet';
  }

  expect(r: FuzzRequest, concretePath: readonly string[], query: readonly (readonly [string, string])[]): Expectation {
    // A header value with a control character (but tab) is not HTTP: the server's parser refuses it
    // before any route or token check.
    if (r.idempotencyKey !== undefined && NOT_HTTP.test(r.idempotencyKey)) {
      return { allowed: new Set([400]), why: '400: a header field holds a control character (not HTTP)' };
    }
    if (!(r.caller in USER_OF)) return { allowed: new Set([401]), why: `401: caller ${r.caller} has no valid token` };
    const self = USER_OF[r.caller as SignedIn];
    const admin = r.caller === 'admin';
    const errors = new Map<number, string[]>();
    const fail = (status: number, why: string) => errors.set(status, [...(errors.get(status) ?? []), why]);
    const namesOther = (user: unknown, where: string) => {
      if (!admin && user !== undefined && user !== self) fail(403, `${where} names another user`);
    };
    const result = (ok: number[], effect?: Effect, extra = ''): Expectation => {
      if (errors.size) {
        const why = [...errors].map(([s, w]) => `${s}: ${w.join(', ')}`).join('; ');
        // What it would do if accepted all the same, so the test keeps count of what did happen.
        const wouldBe = effect && { ...effect, replayOf: undefined };
        return { allowed: new Set(errors.keys()), why, effect: wouldBe };
      }
      return { allowed: new Set(ok), why: `${ok.join('/')}: a valid request${extra}`, effect };
    };

    if (r.op === 'no-route') return result([404, 405]);

    const parsed = r.body === undefined ? undefined : this.checkBody(r, fail);
    if (r.idempotencyKey !== undefined && !KEY.test(r.idempotencyKey.trim()))
      fail(400, 'Idempotency-Key is not 1 to 128 printable characters');

    switch (r.op) {
      case 'createAccount':
      case 'deposit':
      case 'placeOrder': {
        if (!parsed) return result([]);
        namesOther(parsed.user_id, 'the body');
        const target = typeof parsed.user_id === 'string' ? parsed.user_id : self;
        if (r.op === 'createAccount') {
          return result(
            [this.accounts.has(target) ? 409 : 201],
            { kind: 'account', target },
            this.accounts.has(target) ? ' for an existing account' : '',
          );
        }
        const amount = Number(parsed.amount);
        const description = typeof parsed.description === 'string' ? parsed.description : '';
        const canonical = JSON.stringify(r.op === 'deposit' ? [target, amount] : [target, amount, description]);
        const keyId =
          r.idempotencyKey === undefined || r.idempotencyKey.trim() === ''
            ? undefined
            : `${r.op}|${self}|${r.idempotencyKey.trim()}`;
        const effect: Effect = {
          kind: r.op === 'deposit' ? 'deposit' : 'order',
          ...{ target, amount, description, keyId, canonical, raw: r.body },
        };
        let ok = [r.op === 'deposit' ? 200 : 201];
        if (r.op === 'deposit' && !this.accounts.has(target)) ok = [404];
        if (r.op === 'deposit' && (this.deposits.get(target) ?? 0) + amount > MAX_SAFE) ok.push(400);
        const earlier = keyId === undefined ? undefined : this.keys.get(keyId);
        // Which comes first, a bad body or a reused key, the contract leaves open.
        if (errors.size && earlier && earlier.canonical !== canonical)
          fail(422, 'and its key was used with another body');
        if (!earlier) return result(ok, effect);
        if (earlier.canonical !== canonical)
          return result(
            [...ok.filter((s) => s >= 400), 422],
            { ...effect, keyId: undefined },
            ', but its key was used with another body',
          );
        if (earlier.raw === r.body) return result([earlier.status], { ...effect, replayOf: earlier }, ': a retry');
        // The same request in other words (field order, `5.0`): a retry or a different body, as the key store sees it.
        return result([earlier.status, 422], { ...effect, replayOf: earlier }, ': a retry in other words');
      }
      case 'listOrders': {
        const users = query.filter(([k]) => k === 'user_id').map(([, v]) => decode(v));
        let target = self;
        // Where the contract does not say, refusing (400) is as right as a sensible answer.
        let ambiguous = '';
        let dupeOther = false;
        if (users.length > 1) {
          ambiguous = 'user_id given twice';
          target = ''; // which one wins is not said; the identity check still holds
          dupeOther = !admin && users.some((u) => u !== self);
        } else if (users.length === 1 && users[0] !== '') {
          const user = users[0];
          if (user === undefined || !USER_ID.test(user) || badText(user)) fail(400, 'user_id is invalid');
          namesOther(user, 'the query');
          target = user ?? self;
        }
        let limit = 50;
        for (const v of query.filter(([k]) => k === 'limit').map(([, value]) => value)) {
          if (v === '' || v === '1e2') ambiguous = `limit ${JSON.stringify(v)}`;
          else if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 200)
            fail(400, `limit ${JSON.stringify(v)} is not 1 to 200`);
          else limit = Number(v);
        }
        for (const [k, v] of query) {
          if (k === 'cursor' && v !== this.cursors.get(`${self}|${target}`)) fail(400, 'cursor was never given out');
        }
        const effect: Effect = { kind: 'list', target, limit: ambiguous ? undefined : limit };
        if (errors.size && dupeOther) fail(403, 'user_id names another user, too');
        if (!ambiguous || errors.size) return result([200], effect);
        return { allowed: new Set([200, 400, ...(dupeOther ? [403] : [])]), why: `200/400: ${ambiguous}`, effect };
      }
      case 'getOrder': {
        const id = concretePath[1]!;
        // An id that is no UUID names no order (404), unless it breaks the text rule (400); one that
        // does not even decode is taken as it stands (a UUID it is not).
        const text = decode(id);
        if (text !== undefined && badText(text)) fail(400, 'the order id has control characters or invalid Unicode');
        const owner = this.ownerOf(id);
        const visible = owner !== undefined && (admin || owner === self);
        return result(
          [visible ? 200 : 404],
          visible ? { kind: 'read-order', target: owner, orderId: id } : undefined,
          visible ? '' : ' for an order the caller may not see',
        );
      }
      case 'getBalance': {
        const user = decode(concretePath[2]!);
        if (user === undefined || !USER_ID.test(user)) fail(400, 'user_id in the path is invalid');
        namesOther(user, 'the path');
        const target = user ?? self;
        return result([this.accounts.has(target) ? 200 : 404], { kind: 'balance', target });
      }
      default:
        throw new Error(`no expectation for ${r.op}`);
    }
  }

  /** Records what a successful answer did. */
  apply(effect: Effect | undefined, answer: Answer): void {
    if (!effect || answer.status >= 300) return;
    if (effect.replayOf) return;
    if (effect.kind === 'account') this.accounts.add(effect.target);
    if (effect.kind === 'deposit')
      this.deposits.set(effect.target, (this.deposits.get(effect.target) ?? 0) + effect.amount!);
    if (effect.kind === 'order') {
      const order = JSON.parse(answer.body) as { id: string };
      this.orders.set(effect.target, [...(this.orders.get(effect.target) ?? []), order.id]);
    }
    if (effect.keyId && !this.keys.has(effect.keyId)) {
      this.keys.set(effect.keyId, {
        canonical: effect.canonical!,
        raw: effect.raw ?? '',
        status: answer.status,
        body: answer.body,
      });
    }
  }

  /**
   * The body as the service would read it, if it can be read as a JSON object at all; records
   * every reason the contract gives to refuse it.
   */
  private checkBody(r: FuzzRequest, fail: (status: number, why: string) => void): JsonObject | undefined {
    const op = this.spec.byId(r.op);
    const bytes = bodyBytes(r.body ?? '');
    if (!/^application\/json\s*(;.*)?$/i.test(r.contentType ?? '')) fail(415, 'the body is not declared JSON');
    if (bytes.length > BODY_LIMIT) {
      fail(413, 'the body is over 64 KiB');
      return undefined;
    }
    let value: Json;
    try {
      value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as Json;
    } catch {
      fail(400, 'the body is not JSON in UTF-8');
      try {
        value = JSON.parse(bytes.toString('utf-8')) as Json; // as a lenient reader would see it
      } catch {
        return undefined;
      }
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      fail(400, 'the body is not an object');
      return undefined;
    }
    const validate = op.body!.validate;
    const valid = validate(value);
    if (!valid) fail(400, `the body does not match the schema (${this.spec.errorsText(validate)})`);
    const bad = op.body!.fields.filter((f) => typeof value[f.name] === 'string' && badText(value[f.name] as string));
    for (const field of bad) fail(400, `${field.name} has control characters or invalid Unicode`);
    return value;
  }
}
