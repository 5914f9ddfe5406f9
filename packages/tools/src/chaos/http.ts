import { Agent, request } from 'node:http';

/** An answer, or why there was none (`status` 0). */
export interface Answer {
  readonly status: number;
  readonly body: string;
  readonly error?: string;
}

/**
 * A keep-alive JSON client that never throws: a refused connection, a reset or a timeout comes
 * back as status 0 with the reason, which is what a client in a chaotic network sees. Given several
 * gateways it sends to each in turn (round robin), as a load balancer in front of them would; a
 * retry may so reach another gateway than the first attempt.
 */
export class ChaosHttp {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 64 });
  private readonly bases: readonly string[];
  private next = 0;

  constructor(
    base: string | readonly string[],
    readonly timeoutMs = 5_000,
    /** Headers every request carries (an access token). */
    private readonly always: Readonly<Record<string, string>> = {},
  ) {
    this.bases = typeof base === 'string' ? [base] : base;
    if (this.bases.length === 0) throw new Error('ChaosHttp: no gateway');
  }

  private base(): string {
    const base = this.bases[this.next % this.bases.length] as string;
    this.next += 1;
    return base;
  }

  send(method: 'GET' | 'POST', path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve) => {
      let settled = false;
      const done = (answer: Answer): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(answer);
      };
      const req = request(
        `${this.base()}${path}`,
        {
          method,
          agent: this.agent,
          headers: {
            ...this.always,
            ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
            ...headers,
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => done({ status: res.statusCode ?? 0, body: text }));
          res.on('error', (err) => done({ status: 0, body: text, error: err.message }));
          res.on('aborted', () => done({ status: 0, body: text, error: 'response aborted' }));
        },
      );
      const timer = setTimeout(() => {
        done({ status: 0, body: '', error: `timeout after ${this.timeoutMs} ms` });
        req.destroy();
      }, this.timeoutMs);
      req.on('error', (err: NodeJS.ErrnoException) => done({ status: 0, body: '', error: err.code ?? err.message }));
      req.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Runs `work` over `items` with at most `concurrency` at a time. */
export const inParallel = async <T, R>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> => {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const index = next;
        next += 1;
        results[index] = await work(items[index] as T);
      }
    }),
  );
  return results;
};
