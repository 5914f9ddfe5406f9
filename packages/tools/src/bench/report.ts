import { cpus, totalmem, type, release } from 'node:os';
import type { CpuPerOrder } from './process-stats.js';

export interface LatencyRow {
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

export interface BenchResults {
  readonly when: string;
  readonly mode: 'quick' | 'full';
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
const CPU_PARTS = ['gateway', 'orders', 'payments', 'web', 'postgres', 'rabbitmq', 'load generator', 'all'];

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

/** What verifying tokens costs the gateway, in per cent of its rate without identity. */
const identityCost = (r: BenchResults): number =>
  r.openGatewayOnBareRps ? (1 - r.gatewayOnBareRps / r.openGatewayOnBareRps) * 100 : NaN;

/** The table printed at the end, also the body of docs/bench/README.md. */
export const table = (r: BenchResults): string => {
  const lines = [
    '| measure | value |',
    '| --- | --- |',
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
    '| process | CPU (of one core, during load) | peak RSS |',
    '| --- | --- | --- |',
    ...Object.entries(r.processes).map(([name, p]) => `| ${name} | ${n(p.cpuPercent)} % | ${n(p.peakRssMiB)} MiB |`),
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
