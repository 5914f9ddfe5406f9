import { cpus, totalmem, type, release } from 'node:os';
import type { Activity } from './pg-activity.js';
import type { CpuPerOrder } from './process-stats.js';

export interface LatencyRow {
  /** The share of the sustained maximum offered (0.5: half of it). */
  readonly share?: number;
  readonly offeredRate: number;
  readonly achievedRate: number;
  readonly orders: number;
  /** Accepted (201) → final status, from the orders database's own timestamps, ms. */
  readonly final: { p50: number; p95: number; p99: number; max: number };
  /** Scheduled send → 201, as a client sees it (no coordinated omission), ms. */
  readonly accept: { p50: number; p99: number };
  /** What each order cost in CPU at this rate, from sending it until it was final. */
  readonly cpu?: CpuPerOrder;
}

/** The outbox relay at a steady rate, in one of the two ways a service on Postgres dispatches. */
export interface SteadyRelayResult {
  /** relay: the relay alone, woken by a NOTIFY per commit; commit: publish on commit, the relay as backstop. */
  readonly mode: 'relay' | 'commit';
  readonly rate: number;
  readonly seconds: number;
  /** Messages committed (one per transaction). */
  readonly messages: number;
  /** Committed and never consumed; consumed more than once (repeats); consumed and never committed here. */
  readonly lost: number;
  readonly duplicates: number;
  readonly unexpected: number;
  /** Transactions that failed to commit. */
  readonly failedAppends: number;
  /** From the first append to the last message consumed, s. */
  readonly windowSeconds: number;
  /** Commit (`uow.run` resolved) → the consumer's receipt, ms. */
  readonly latencyMs: { p50: number; p99: number; max: number };
  readonly commitsPerMessage: number;
  readonly indexEntriesPerMessage: number;
  /** The scratch database's transactions committed and index entries read, in all and by index. */
  readonly database: Activity;
  /**
   * CPU per message over the window, by part: `relay` (mode relay) or `service` (mode commit: it
   * appends and publishes), postgres, rabbitmq, the load generator (the bench: it consumes, and in
   * mode relay appends) and all of them.
   */
  readonly cpu: CpuPerOrder;
}

export interface BenchResults {
  readonly when: string;
  readonly mode: 'quick' | 'full';
  /** Instances of orders, payments and the gateway, when the run was asked for some (`--instances`). */
  readonly instances?: number;
  readonly machine: { cpus: number; cpuModel: string; memoryGiB: number; os: string; node: string };
  readonly raw: {
    outboxTps: number;
    publishPerSecond: number;
    /** Diagnostic: the same amqplib loop through the contract's topic exchange with the relay's properties. */
    topicPublishPerSecond?: number;
    bareDirectRps: number;
    bareProxyRps: number;
  };
  /** GoZon's gateway in front of the same bare app as the bare proxy, verifying each request's token. */
  readonly gatewayOnBareRps: number;
  /** The same gateway with `GOZON_AUTH=none` (no token check). */
  readonly openGatewayOnBareRps?: number;
  readonly sustained: {
    acceptedPerSecond: number;
    paidPerSecond: number;
    relayPublishPerSecond: number;
    concurrency: number;
    /** What each order of the closed loop cost in CPU, from sending it until it was final. */
    cpu?: CpuPerOrder;
  };
  readonly gateway: { directRps: number; viaGatewayRps: number };
  readonly latency: readonly LatencyRow[];
  /** The relay at a steady rate, measured alone before the services start. */
  readonly steadyRelay?: { relay: SteadyRelayResult; commit: SteadyRelayResult };
  readonly processes: Record<string, { cpuPercent: number; peakRssMiB: number }>;
  readonly ratios: {
    paidToRawOutbox: number;
    relayToRawPublish: number;
    gatewayToBareProxy: number;
  };
}

export const machine = (): BenchResults['machine'] => ({
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  os: `${type()} ${release()}`,
  node: process.version,
});

const n = (value: number, digits = 0): string =>
  Number.isFinite(value)
    ? value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : '–';

/** The parts of the CPU-per-order table, in this order when they were measured. */
const CPU_PARTS = ['gateway', 'orders', 'payments', 'web', 'postgres', 'rabbitmq', 'redis', 'load generator', 'all'];

/** CPU per order at the sustained maximum and at each open-loop rate, by part, with the cores' busy share. */
const cpuTable = (r: BenchResults): string[] => {
  const rows: Array<[string, CpuPerOrder]> = [];
  if (r.sustained.cpu) rows.push([`closed loop (${n(r.sustained.acceptedPerSecond)} /s)`, r.sustained.cpu]);
  for (const row of r.latency) if (row.cpu) rows.push([`${n(row.offeredRate)} /s`, row.cpu]);
  if (rows.length === 0) return [];
  const parts = CPU_PARTS.filter((part) => rows.some(([, cpu]) => cpu.perOrderMs[part] !== undefined));
  return [
    `| load | CPU ms per order: ${parts.join(' / ')} | cores busy |`,
    '| --- | --- | --- |',
    ...rows.map(
      ([load, cpu]) =>
        `| ${load} | ${parts.map((part) => n(cpu.perOrderMs[part] ?? Number.NaN, 2)).join(' / ')} | ${n(cpu.busyPercent)} % |`,
    ),
  ];
};

/** What went wrong in a steady-relay run: every message committed must arrive, once. */
export const steadyRelayFailures = (r: SteadyRelayResult): string[] => {
  const failures: string[] = [];
  if (r.lost > 0) failures.push(`${r.lost} of ${r.messages} messages never arrived`);
  if (r.duplicates > 0) failures.push(`${r.duplicates} deliveries repeated a message`);
  if (r.unexpected > 0) failures.push(`${r.unexpected} deliveries of messages this run never committed`);
  if (r.failedAppends > 0) failures.push(`${r.failedAppends} transactions failed to commit`);
  return failures;
};

/** The process whose CPU is the mode's own figure. */
export const steadyPart = (mode: SteadyRelayResult['mode']): string => (mode === 'relay' ? 'relay' : 'service');

const STEADY_LABELS: Record<SteadyRelayResult['mode'], string> = {
  relay: 'relay alone, woken by NOTIFY (its process: the relay)',
  commit: 'publish on commit, relay as backstop (its process: the service, appends and publishes)',
};

/** The index read most, with its entries read per message. */
const mostRead = (r: SteadyRelayResult): string => {
  const [name, reads] =
    Object.entries(r.database.indexes).sort(([, a], [, b]) => b.entriesRead - a.entriesRead)[0] ?? [];
  return name && reads ? ` (${name} ${n(reads.entriesRead / Math.max(1, r.messages), 1)})` : '';
};

/** A row per mode measured: latency, and what a message costs the database and the CPUs. */
export const steadyRelayTable = (results: readonly SteadyRelayResult[]): string[] => {
  if (results.length === 0) return [];
  const cpu = (r: SteadyRelayResult): string =>
    [steadyPart(r.mode), 'postgres', 'rabbitmq', 'load generator', 'all']
      .map((part) => n(r.cpu.perOrderMs[part] ?? Number.NaN, 2))
      .join(' / ');
  return [
    '| at a steady rate, one message per transaction | messages (lost, repeated) | commit → consumer p50 / p99 (ms) | database commits per message | index entries read per message | CPU ms per message: its process / postgres / rabbitmq / bench / all | cores busy |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...results.map(
      (r) =>
        `| ${STEADY_LABELS[r.mode]}, ${n(r.rate)} msg/s for ${n(r.seconds)} s | ${r.messages} (${r.lost}, ${r.duplicates}) | ${n(r.latencyMs.p50, 1)} / ${n(r.latencyMs.p99, 1)} | ${n(r.commitsPerMessage, 2)} | ${n(r.indexEntriesPerMessage, 1)}${mostRead(r)} | ${cpu(r)} | ${n(r.cpu.busyPercent)} % |`,
    ),
  ];
};

/** One of issue 18's targets, as this run reached it. */
export interface TargetCheck {
  readonly what: string;
  readonly value: number;
  /** The value must be at most or at least `limit`. */
  readonly at: 'most' | 'least';
  readonly limit: number;
  readonly digits: number;
}

/** Met, missed, or not measured (undefined). */
export const targetMet = (check: TargetCheck): boolean | undefined => {
  if (!Number.isFinite(check.value)) return undefined;
  return check.at === 'most' ? check.value <= check.limit : check.value >= check.limit;
};

/** Issue 18's targets, each computed from this run alone. */
export const targetChecks = (r: BenchResults): TargetCheck[] => {
  const relay = r.steadyRelay?.relay;
  const steady = `relay at a steady ${relay ? n(relay.rate) : '–'} msg/s`;
  // How the services dispatch on RabbitMQ: each commit published by its process, the relay behind.
  const onCommit = r.steadyRelay?.commit;
  const half = r.latency.find((row) => row.share === 0.5);
  const cpuAtHalf = half?.cpu?.perOrderMs['all'] ?? Number.NaN;
  const cpuAtMax = r.sustained.cpu?.perOrderMs['all'] ?? Number.NaN;
  return [
    {
      what: `${steady}: database commits per message`,
      value: relay?.commitsPerMessage ?? NaN,
      at: 'most',
      limit: 2,
      digits: 2,
    },
    {
      what: `publish on commit (the services' way on RabbitMQ) at a steady ${onCommit ? n(onCommit.rate) : '–'} msg/s: database commits per message`,
      value: onCommit?.commitsPerMessage ?? NaN,
      at: 'most',
      limit: 2,
      digits: 2,
    },
    {
      what: `${steady}: index entries read per message`,
      value: relay?.indexEntriesPerMessage ?? NaN,
      at: 'most',
      limit: 100,
      digits: 1,
    },
    {
      what: `${steady}: relay process CPU per message (ms)`,
      value: relay?.cpu.perOrderMs['relay'] ?? NaN,
      at: 'most',
      limit: 0.5,
      digits: 2,
    },
    {
      what: 'CPU per paid order at ½ the maximum ÷ at the maximum',
      value: cpuAtHalf / cpuAtMax,
      at: 'most',
      limit: 1.3,
      digits: 2,
    },
    {
      what: 'accepted → final at ½ the maximum, p50 (ms)',
      value: half?.final.p50 ?? NaN,
      at: 'most',
      limit: 10,
      digits: 1,
    },
    {
      what: 'accepted → final at ½ the maximum, p99 (ms)',
      value: half?.final.p99 ?? NaN,
      at: 'most',
      limit: 50,
      digits: 1,
    },
    {
      what: 'paid orders/s ÷ raw outbox transactions/s',
      value: r.ratios.paidToRawOutbox,
      at: 'least',
      limit: 0.4,
      digits: 2,
    },
  ];
};

const targetTable = (r: BenchResults): string[] => [
  '| target (issue 18) | value | target | met |',
  '| --- | --- | --- | --- |',
  ...targetChecks(r).map((check) => {
    const met = targetMet(check);
    return `| ${check.what} | ${n(check.value, check.digits)} | ${check.at === 'most' ? '≤' : '≥'} ${check.limit} | ${met === undefined ? '–' : met ? 'yes' : 'no'} |`;
  }),
  // Entries of published rows stay in the outbox's index until VACUUM, and the relay's reads walk them.
  ...(r.mode === 'quick' && r.steadyRelay
    ? [
        '',
        "A quick run's steady relay is short: index entries read per message grow with a run's length, so compare that figure only between runs of the same length.",
      ]
    : []),
];

/** What verifying tokens costs the gateway, in per cent of its rate without identity. */
const identityCost = (r: BenchResults): number =>
  r.openGatewayOnBareRps ? (1 - r.gatewayOnBareRps / r.openGatewayOnBareRps) * 100 : NaN;

/** The table printed at the end, also the body of docs/bench/README.md. */
export const table = (r: BenchResults): string => {
  const lines = [
    '| measure | value |',
    '| --- | --- |',
    ...(r.instances === undefined
      ? []
      : [
          `| instances of orders, payments and the gateway (each gateway → its own orders and payments; load round robin over the gateways; rate limits shared through Redis) | ${r.instances} |`,
        ]),
    `| raw outbox-shaped transactions (pg) | ${n(r.raw.outboxTps)} tps |`,
    `| raw amqplib publish, batched confirms | ${n(r.raw.publishPerSecond)} msg/s |`,
    `| (diagnostic) the same through the contract's topic exchange, relay's properties, mandatory | ${n(r.raw.topicPublishPerSecond ?? NaN)} msg/s |`,
    `| bare keep-alive Koa: direct / through a bare proxy | ${n(r.raw.bareDirectRps)} / ${n(r.raw.bareProxyRps)} req/s |`,
    `| orders accepted (closed loop, ${r.sustained.concurrency} clients) | ${n(r.sustained.acceptedPerSecond)} /s |`,
    `| **orders paid end to end, sustained** | **${n(r.sustained.paidPerSecond)} /s** (${n(r.ratios.paidToRawOutbox, 2)} × raw outbox tps) |`,
    `| outbox relay draining a backlog (claim, publish, confirm, mark) | ${n(r.sustained.relayPublishPerSecond)} msg/s (${n(r.ratios.relayToRawPublish, 2)} × raw publish) |`,
    `| GoZon gateway in front of the same bare app, verifying each token | ${n(r.gatewayOnBareRps)} req/s (${n(r.ratios.gatewayToBareProxy, 2)} × bare proxy) |`,
    `| the same gateway with \`GOZON_AUTH=none\` | ${n(r.openGatewayOnBareRps ?? NaN)} req/s (identity costs ${n(identityCost(r), 1)} % of it) |`,
    `| balance reads: direct to payments / through the gateway | ${n(r.gateway.directRps)} / ${n(r.gateway.viaGatewayRps)} req/s |`,
    '',
    '| offered rate | achieved | orders | accepted → final p50 / p95 / p99 / max (ms) | send → 201 p50 / p99 (ms) |',
    '| --- | --- | --- | --- | --- |',
    ...r.latency.map(
      (row) =>
        `| ${n(row.offeredRate)} /s | ${n(row.achievedRate)} /s | ${row.orders} | ${n(row.final.p50, 1)} / ${n(row.final.p95, 1)} / ${n(row.final.p99, 1)} / ${n(row.final.max, 1)} | ${n(row.accept.p50, 1)} / ${n(row.accept.p99, 1)} |`,
    ),
    '',
    ...cpuTable(r),
    '',
    ...(r.steadyRelay ? [...steadyRelayTable([r.steadyRelay.relay, r.steadyRelay.commit]), ''] : []),
    '| process | CPU (of one core, during load) | peak RSS |',
    '| --- | --- | --- |',
    ...Object.entries(r.processes).map(([name, p]) => `| ${name} | ${n(p.cpuPercent)} % | ${n(p.peakRssMiB)} MiB |`),
    '',
    ...targetTable(r),
  ];
  return lines.join('\n');
};

/** Latency percentiles against offered rate, and throughput beside the raw limits, as SVG. */
export const chart = (r: BenchResults): string => {
  const width = 720;
  const height = 300;
  const pad = 50;
  const plotW = (width - pad * 3) / 2;
  const plotH = height - pad * 2;
  const parts: string[] = [];
  const maxRate = Math.max(...r.latency.map((l) => l.offeredRate), 1);
  const maxLatency = Math.max(...r.latency.map((l) => l.final.p99), 1) * 1.1;
  const x = (rate: number) => pad + (rate / maxRate) * plotW;
  const y = (ms: number) => pad + plotH - (ms / maxLatency) * plotH;
  const series: Array<[keyof LatencyRow['final'], string]> = [
    ['p50', '#2b8a3e'],
    ['p95', '#e67700'],
    ['p99', '#c92a2a'],
  ];
  parts.push(
    `<text x="${pad}" y="30" font-size="13" font-weight="bold">accepted → final latency (ms) by offered rate (orders/s)</text>`,
  );
  parts.push(`<line x1="${pad}" y1="${pad + plotH}" x2="${pad + plotW}" y2="${pad + plotH}" stroke="#333"/>`);
  parts.push(`<line x1="${pad}" y1="${pad}" x2="${pad}" y2="${pad + plotH}" stroke="#333"/>`);
  parts.push(`<text x="${pad - 5}" y="${pad + 4}" font-size="10" text-anchor="end">${maxLatency.toFixed(0)}</text>`);
  parts.push(`<text x="${pad - 5}" y="${pad + plotH}" font-size="10" text-anchor="end">0</text>`);
  series.forEach(([key, color], i) => {
    const points = r.latency.map((l) => `${x(l.offeredRate).toFixed(1)},${y(l.final[key]).toFixed(1)}`).join(' ');
    parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${points}"/>`);
    for (const l of r.latency)
      parts.push(
        `<circle cx="${x(l.offeredRate).toFixed(1)}" cy="${y(l.final[key]).toFixed(1)}" r="3" fill="${color}"/>`,
      );
    parts.push(`<text x="${pad + 10 + i * 45}" y="${pad + 12}" font-size="11" fill="${color}">${key}</text>`);
  });
  for (const l of r.latency) {
    parts.push(
      `<text x="${x(l.offeredRate).toFixed(1)}" y="${pad + plotH + 15}" font-size="10" text-anchor="middle">${l.offeredRate.toFixed(0)}</text>`,
    );
  }
  const bars: Array<[string, number]> = [
    ['raw outbox tps', r.raw.outboxTps],
    ['paid orders/s', r.sustained.paidPerSecond],
    ['raw publish/s', r.raw.publishPerSecond],
    ['relay publish/s', r.sustained.relayPublishPerSecond],
    ['bare proxy req/s', r.raw.bareProxyRps],
    ['gateway req/s', r.gatewayOnBareRps],
  ];
  const left = pad * 2 + plotW;
  const maxBar = Math.max(...bars.map(([, v]) => v), 1);
  parts.push(`<text x="${left}" y="30" font-size="13" font-weight="bold">throughput beside the raw limits</text>`);
  bars.forEach(([label, value], i) => {
    const barY = pad + i * (plotH / bars.length);
    const w = (value / maxBar) * (plotW - 110);
    const color = i % 2 === 0 ? '#868e96' : '#1971c2';
    parts.push(`<text x="${left}" y="${barY + 14}" font-size="11">${label}</text>`);
    parts.push(`<rect x="${left + 100}" y="${barY + 3}" width="${w.toFixed(1)}" height="14" fill="${color}"/>`);
    parts.push(`<text x="${left + 104 + w}" y="${barY + 14}" font-size="10">${Math.round(value)}</text>`);
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n${parts.join('\n')}\n</svg>\n`;
};
