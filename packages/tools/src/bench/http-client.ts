import { Agent, request } from 'node:http';

/** A keep-alive JSON client with as little overhead as Node allows: the load generator. */
export class HttpClient {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 512 });

  /** `headers` go on every request (e.g. an access token). */
  constructor(private readonly headers: Readonly<Record<string, string>> = {}) {}

  send(url: string, method: 'GET' | 'POST', body?: unknown): Promise<{ status: number; body: string }> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method,
          agent: this.agent,
          headers: payload
            ? { ...this.headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
            : this.headers,
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Runs `work` from `concurrency` loops for `seconds`; returns completed calls per second. */
export const closedLoop = async (
  concurrency: number,
  seconds: number,
  work: () => Promise<boolean>,
  onTick?: (done: number, elapsed: number) => void,
): Promise<{ ok: number; failed: number; perSecond: number }> => {
  const end = performance.now() + seconds * 1000;
  const started = performance.now();
  let ok = 0;
  let failed = 0;
  const ticker = setInterval(() => onTick?.(ok, (performance.now() - started) / 1000), 250);
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        if (await work().catch(() => false)) ok += 1;
        else failed += 1;
      }
    }),
  );
  clearInterval(ticker);
  return { ok, failed, perSecond: ok / ((performance.now() - started) / 1000) };
};

/**
 * Sends at a fixed rate whatever the answers do (open loop): each call is scheduled in advance,
 * so a slow answer delays no later send and latency is measured without coordinated omission.
 */
export const openLoop = async <T>(
  rate: number,
  seconds: number,
  work: (scheduledAt: number) => Promise<T>,
  onTick?: (sent: number, elapsed: number) => void,
): Promise<T[]> => {
  const started = performance.now();
  const total = Math.max(1, Math.round(rate * seconds));
  const calls: Promise<T>[] = [];
  for (let i = 0; i < total; i += 1) {
    const due = started + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    calls.push(work(due));
    if (i % 50 === 0) onTick?.(i, (performance.now() - started) / 1000);
  }
  return Promise.all(calls);
};

export const percentile = (sorted: readonly number[], p: number): number => {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] as number;
};
