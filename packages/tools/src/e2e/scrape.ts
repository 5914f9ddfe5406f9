/** One sample of a Prometheus text exposition. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Parses the text format prom-client writes (no escaped quotes in our label values). */
export const parseExposition = (text: string): Sample[] =>
  text
    .split('\n')
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!match) throw new Error(`not a sample line: ${line}`);
      const labels: Record<string, string> = {};
      for (const [, key, value] of (match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)) labels[key!] = value!;
      return { name: match[1]!, labels, value: Number(match[3]) };
    });

/** The sum of the samples named `name` whose labels include `labels` (0 if there is none). */
export const total = (samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number =>
  samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);

/** Scrapes `GET {base}/metrics`. */
export const scrape = async (base: string): Promise<Sample[]> => {
  const res = await fetch(`${base}/metrics`);
  if (res.status !== 200) throw new Error(`GET ${base}/metrics answered ${res.status}`);
  return parseExposition(await res.text());
};

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Scrapes `base` until `check` holds of its samples; fails with what it saw last. */
export const scrapeUntil = async (
  base: string,
  check: (samples: Sample[]) => boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<Sample[]> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const samples = await scrape(base);
    if (check(samples)) return samples;
    if (Date.now() > deadline) throw new Error(`${what}: not so after ${timeoutMs} ms`);
    await sleep(250);
  }
};
