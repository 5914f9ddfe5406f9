import fc from 'fast-check';
import { rawRequest, type RawResponse } from '../raw-http.js';
import { checkAnswer, checkEffect } from './checks.js';
import { type Caller, describeRequest, type FuzzRequest, type SignedIn, USER_OF } from './fuzz-request.js';
import { type Answer, bodyBytes, World } from './oracle.js';
import { requests } from './requests.js';
import type { Snapshot } from './snapshot.js';
import type { SpecModel } from './spec-model.js';

/** Where the requests go, and how to see what they changed. */
export interface FuzzTarget {
  readonly base: string;
  /** Access tokens of the signed-in callers. */
  readonly tokens: Readonly<Record<SignedIn, string>>;
  /** The state requests may change, read directly from the databases. */
  snapshot(): Promise<Snapshot>;
}

/** One way an answer broke the contract; `kind` groups findings of the same defect. */
export class Violation extends Error {
  constructor(
    readonly kind: string,
    readonly request: FuzzRequest,
    readonly answer: Answer,
    problems: string[],
  ) {
    super(
      `${problems.join('\n  ')}\n  request: ${describeRequest(request)}\n  answer: ${answer.status} ${short(answer.body)}`,
    );
  }

  /** The same defect, whatever the values: the operation, the status and the kinds of mutation. */
  get signature(): string {
    const mutations = this.request.mutations
      .filter((m) => !m.startsWith('extra fields'))
      .map((m) =>
        m
          .replace(/ ?(["'].*|\b\d+ (code points|characters|chars).*)$/, '')
          .replace(/U\+[0-9A-F]+|TAB|LF|DEL|NUL/, 'control')
          .replace(/ inside$/, ''),
      );
    if (this.request.query.some(([, v]) => typeof v !== 'string')) mutations.push('cursor from a Link, if any');
    return `${this.request.op} → ${this.answer.status} ${this.kind} [${[...new Set(mutations)].sort().join('; ') || 'valid'}]`;
  }
}

const SEVERITY = [
  '5xx',
  'identity',
  'changed-on-4xx',
  'idempotency',
  'effect',
  'status',
  'paging',
  'shape',
  'schema',
  'undocumented',
];
const short = (s: string): string => (s.length > 300 ? `${s.slice(0, 300)}…` : s);

const authorization = (caller: Caller, tokens: FuzzTarget['tokens']): string | undefined => {
  switch (caller) {
    case 'alice':
    case 'bob':
    case 'admin':
      return `Bearer ${tokens[caller]}`;
    case 'anonymous':
      return undefined;
    case 'not-a-jwt':
      return 'Bearer not-a-jwt';
    case 'forged':
      return `Bearer ${tokens.alice.replace(/\.[^.]+$/, '.AAAA')}`;
    case 'basic':
      return 'Basic YWxpY2U6c2VjcmV0';
    case 'empty-bearer':
      return 'Bearer ';
  }
};

export class Fuzzer {
  readonly world: World;
  readonly statuses = new Map<number, number>();
  requests = 0;
  private last: Snapshot | undefined;

  constructor(
    private readonly spec: SpecModel,
    private readonly target: FuzzTarget,
  ) {
    this.world = new World(spec);
  }

  /** Sends `r` as it stands now (order ids and cursors looked up), and checks its answer and effect. */
  async step(r: FuzzRequest): Promise<void> {
    const self = r.caller in USER_OF ? USER_OF[r.caller as SignedIn] : 'alice';
    const path = r.path.map((s) => (typeof s === 'string' ? s : this.world.orderId(s)));
    const listed = r.query.find(([k]) => k === 'user_id')?.[1];
    const listedUser = typeof listed === 'string' && listed !== '' ? decodeURIComponent(safe(listed)) : self;
    const query = r.query.map(
      ([k, v]) => [k, typeof v === 'string' ? v : this.world.cursorFor(self, listedUser)] as const,
    );
    const expectation = this.world.expect(r, path, query);
    const headers: [string, string][] = [];
    const auth = authorization(r.caller, this.target.tokens);
    if (auth !== undefined) headers.push(['Authorization', auth]);
    if (r.idempotencyKey !== undefined) headers.push(['Idempotency-Key', r.idempotencyKey]);
    if (r.contentType !== undefined) headers.push(['Content-Type', r.contentType]);
    const target = `/${path.join('/')}${query.length ? `?${query.map(([k, v]) => `${k}=${v}`).join('&')}` : ''}`;
    const before = this.last ?? (await this.target.snapshot());
    this.last = undefined;
    let answer: RawResponse;
    try {
      answer = await rawRequest(this.target.base, {
        method: r.method,
        target,
        headers,
        body: r.body === undefined ? undefined : bodyBytes(r.body),
      });
    } catch (err) {
      const none = { status: 0, headers: {}, body: '' };
      throw new Violation('no-answer', r, none, [`no HTTP answer: ${(err as Error).message}`]);
    }
    this.requests += 1;
    this.statuses.set(answer.status, (this.statuses.get(answer.status) ?? 0) + 1);
    const after = await this.target.snapshot();
    this.last = after;
    const problems = [
      ...checkAnswer(this.spec, this.world, r, expectation, answer),
      ...checkEffect(expectation, answer, before, after, self, r),
    ];
    // What happened is recorded whether or not it should have, so later expectations stay true.
    this.world.apply(expectation.effect, answer);
    const link = /<[^>]*[?&]cursor=([^&>]*)[^>]*>;\s*rel="?next"?/.exec(answer.headers.link ?? '');
    if (expectation.effect?.kind === 'list' && link) {
      this.world.cursors.set(`${self}|${expectation.effect.target}`, link[1]!);
    }
    if (problems.length) {
      problems.sort(([a], [b]) => SEVERITY.indexOf(a) - SEVERITY.indexOf(b));
      throw new Violation(
        problems[0]![0],
        r,
        answer,
        problems.map(([kind, p]) => `${kind}: ${p}`),
      );
    }
  }

  /** A fast-check property: every generated request is answered as the contract says. */
  property(onViolation?: (v: Violation) => void): fc.IAsyncPropertyWithHooks<[FuzzRequest]> {
    return fc.asyncProperty(requests(this.spec), async (r) => {
      try {
        await this.step(r);
      } catch (err) {
        if (onViolation && err instanceof Violation) onViolation(err);
        else throw err;
      }
    });
  }
}

const safe = (s: string): string => {
  try {
    decodeURIComponent(s);
    return s;
  } catch {
    return '';
  }
};
