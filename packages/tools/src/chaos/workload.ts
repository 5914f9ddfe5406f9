import { type ChaosHttp, inParallel } from './http.js';
import { type Random, sleep } from './random.js';

/** What a client can tell of one attempt: the answer settles it, refuses it, or leaves it open. */
export type Outcome = 'acknowledged' | 'rejected' | 'indeterminate';

export interface Attempt {
  /** Milliseconds since the run started. */
  readonly at: number;
  readonly status: number;
  readonly outcome: Outcome;
  /** Sent while another copy of the same request was in flight. */
  readonly concurrent: boolean;
  /** The order id (orders) or the new balance (deposits) a 2xx answer carried. */
  readonly orderId?: string;
  readonly balance?: number;
  /** The answer's body for a 2xx (to compare retries), the error code for a 4xx, the reason otherwise. */
  readonly detail: string;
}

/** One request as the client means it; retries are further attempts of it (same key, same body). */
export interface LogicalRequest {
  readonly tag: string;
  readonly kind: 'order' | 'deposit';
  readonly phase: 'setup' | 'workload';
  readonly user: string;
  readonly amount: number;
  /** Orders carry their tag in the description, so every row maps back to its request. */
  readonly description?: string;
  readonly key?: string;
  readonly attempts: Attempt[];
}

/** Acknowledged if any answer was 2xx, rejected if one was 4xx, indeterminate otherwise. */
export const verdict = (request: LogicalRequest): Outcome => {
  if (request.attempts.some((a) => a.outcome === 'acknowledged')) return 'acknowledged';
  if (request.attempts.some((a) => a.outcome === 'rejected')) return 'rejected';
  return 'indeterminate';
};

export interface Population {
  /** Users with an account and an initial deposit. */
  readonly funded: readonly string[];
  /** Users who never get an account: their orders must end `account_not_found`, deposits 404. */
  readonly strangers: readonly string[];
}

export interface WorkloadOptions {
  readonly durationMs: number;
  /** Stop placing new orders (and end the workload) once this many were requested. */
  readonly maxOrders: number;
  /** Client loops running at once. */
  readonly concurrency: number;
  /** Each loop's pause between actions, in ms. */
  readonly thinkMs: readonly [number, number];
  /** Most attempts of one keyed request. */
  readonly maxAttempts: number;
}

export const orderTag = (description: string): string | undefined => /^chaos:(o\d+)$/.exec(description)?.[1];

/** Drives the public API as many careless and careful clients at once, and remembers every answer. */
export class Workload {
  readonly requests: LogicalRequest[] = [];
  private readonly retryQueue: LogicalRequest[] = [];
  private orderCount = 0;
  private depositCount = 0;
  private actions = 0;

  constructor(
    private readonly http: ChaosHttp,
    private readonly rng: Random,
    readonly runId: string,
    private readonly t0: number,
  ) {}

  static population(runId: string, users: number, strangers: number): Population {
    return {
      funded: Array.from({ length: users }, (_, i) => `chaos-${runId}-u${i}`),
      strangers: Array.from({ length: strangers }, (_, i) => `chaos-${runId}-x${i}`),
    };
  }

  get ordersRequested(): number {
    return this.orderCount;
  }

  get actionsDone(): number {
    return this.actions;
  }

  /** Opens an account and makes the first deposit for every funded user, retrying until answered. */
  async setup(population: Population, initialDeposit: (rng: Random) => number): Promise<void> {
    await inParallel(population.funded, 8, async (user) => {
      for (let tries = 0; ; tries += 1) {
        const answer = await this.http.send('POST', '/payments/accounts', { user_id: user });
        if (answer.status === 201 || answer.status === 409) break;
        if (tries > 50) throw new Error(`cannot open an account for ${user}: ${answer.status} ${answer.error ?? ''}`);
        await sleep(200);
      }
      const deposit = this.newRequest('deposit', 'setup', user, initialDeposit(this.rng), true);
      while (verdict(deposit) !== 'acknowledged') {
        if (deposit.attempts.length > 50) throw new Error(`cannot make the first deposit for ${user}`);
        if (deposit.attempts.length > 0) await sleep(200);
        await this.send(deposit, false);
      }
    });
  }

  /** Runs the client loops until the duration ends, the order cap is reached, or `stop()` says so. */
  async run(population: Population, options: WorkloadOptions, shouldStop: () => boolean = () => false): Promise<void> {
    const end = Date.now() + options.durationMs;
    const over = () => Date.now() >= end || this.orderCount >= options.maxOrders || shouldStop();
    await Promise.all(
      Array.from({ length: options.concurrency }, async () => {
        while (!over()) {
          const r = this.rng.next();
          if (r < 0.55) await this.placeOrder(population, options);
          else if (r < 0.75) await this.deposit(population, options);
          else await this.retry(population, options);
          this.actions += 1;
          await sleep(this.rng.int(options.thinkMs[0], options.thinkMs[1]));
        }
      }),
    );
  }

  /**
   * What a careful client does once things calm down: sends each keyed request still without an
   * answer once more (sometimes twice at once); a retry must return the first answer if it took effect.
   */
  async retryUnanswered(): Promise<number> {
    const open = this.requests.filter((r) => r.key && verdict(r) === 'indeterminate');
    await inParallel(open, 8, (request) => this.sendCopies(request, this.rng.chance(0.3) ? 2 : 1));
    return open.length;
  }

  private async placeOrder(population: Population, options: WorkloadOptions): Promise<void> {
    if (this.orderCount >= options.maxOrders) return;
    const stranger = population.strangers.length > 0 && this.rng.chance(0.12);
    const user = stranger ? this.rng.pick(population.strangers) : this.rng.pick(population.funded);
    // Mostly small amounts; one in five far over any balance this run builds up.
    const amount = this.rng.chance(0.8) ? this.rng.int(1, 400) : this.rng.int(20_000, 200_000);
    const keyed = this.rng.chance(0.75);
    const request = this.newRequest('order', 'workload', user, amount, keyed);
    // Some clients double-submit at once (a double click, an eager retry).
    const copies = keyed && this.rng.chance(0.15) ? this.rng.int(2, 3) : 1;
    await this.sendCopies(request, copies);
    this.queueIfOpen(request, options);
  }

  private async deposit(population: Population, options: WorkloadOptions): Promise<void> {
    const stranger = population.strangers.length > 0 && this.rng.chance(0.07);
    const user = stranger ? this.rng.pick(population.strangers) : this.rng.pick(population.funded);
    const request = this.newRequest('deposit', 'workload', user, this.rng.int(1, 2_000), this.rng.chance(0.8));
    await this.sendCopies(request, request.key && this.rng.chance(0.1) ? 2 : 1);
    this.queueIfOpen(request, options);
  }

  /** A client retrying: first what has no answer yet, else any earlier keyed request, same key and body. */
  private async retry(population: Population, options: WorkloadOptions): Promise<void> {
    const open = this.retryQueue.shift();
    if (open) {
      await this.sendCopies(open, this.rng.chance(0.3) ? 2 : 1);
      this.queueIfOpen(open, options);
      return;
    }
    const keyed = this.requests.filter((r) => r.key && r.phase === 'workload');
    if (keyed.length === 0) return this.placeOrder(population, options);
    const earlier = this.rng.pick(keyed.slice(-200));
    await this.sendCopies(earlier, this.rng.int(1, 3));
  }

  private queueIfOpen(request: LogicalRequest, options: WorkloadOptions): void {
    if (request.key && verdict(request) === 'indeterminate' && request.attempts.length < options.maxAttempts) {
      this.retryQueue.push(request);
    }
  }

  private newRequest(
    kind: 'order' | 'deposit',
    phase: 'setup' | 'workload',
    user: string,
    amount: number,
    keyed: boolean,
  ): LogicalRequest {
    const tag = kind === 'order' ? `o${(this.orderCount += 1)}` : `d${(this.depositCount += 1)}`;
    const request: LogicalRequest = {
      tag,
      kind,
      phase,
      user,
      amount,
      ...(kind === 'order' ? { description: `chaos:${tag}` } : {}),
      ...(keyed ? { key: `chaos-${this.runId}-${tag}` } : {}),
      attempts: [],
    };
    this.requests.push(request);
    return request;
  }

  private async sendCopies(request: LogicalRequest, copies: number): Promise<void> {
    await Promise.all(Array.from({ length: copies }, () => this.send(request, copies > 1)));
  }

  private async send(request: LogicalRequest, concurrent: boolean): Promise<void> {
    const path = request.kind === 'order' ? '/orders' : '/payments/accounts/deposit';
    const body =
      request.kind === 'order'
        ? { user_id: request.user, amount: request.amount, description: request.description }
        : { user_id: request.user, amount: request.amount };
    const at = Date.now() - this.t0;
    const answer = await this.http.send('POST', path, body, request.key ? { 'idempotency-key': request.key } : {});
    request.attempts.push(classify(request, answer, at, concurrent));
  }
}

const errorCode = (body: string): string => {
  try {
    return (JSON.parse(body) as { error?: { code?: string } }).error?.code ?? body.slice(0, 80);
  } catch {
    return body.slice(0, 80);
  }
};

const classify = (
  request: LogicalRequest,
  answer: { status: number; body: string; error?: string },
  at: number,
  concurrent: boolean,
): Attempt => {
  const { status } = answer;
  if (status >= 200 && status < 300) {
    let parsed: { id?: unknown; balance?: unknown } = {};
    try {
      parsed = JSON.parse(answer.body) as typeof parsed;
    } catch {
      // Kept as is: the checks compare bodies.
    }
    return {
      at,
      status,
      outcome: 'acknowledged',
      concurrent,
      ...(request.kind === 'order' && typeof parsed.id === 'string' ? { orderId: parsed.id } : {}),
      ...(request.kind === 'deposit' && typeof parsed.balance === 'number' ? { balance: parsed.balance } : {}),
      detail: answer.body,
    };
  }
  if (status >= 400 && status < 500)
    return { at, status, outcome: 'rejected', concurrent, detail: errorCode(answer.body) };
  return {
    at,
    status,
    outcome: 'indeterminate',
    concurrent,
    detail: status === 0 ? (answer.error ?? 'no answer') : `${status} ${errorCode(answer.body)}`,
  };
};
