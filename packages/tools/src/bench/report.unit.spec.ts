import { expect } from 'chai';
import { cpuPerOrder, cpuSnapshot, type CpuSnapshot } from './process-stats.js';
import { machine, table, type BenchResults } from './report.js';

const snapshot = (parts: Record<string, number | undefined>, busy: number, total: number): CpuSnapshot => ({
  parts,
  busy,
  total,
});

describe('bench: CPU per order', () => {
  it("divides each part's CPU time by the orders, adds them up, and gives the cores' busy share", () => {
    const before = snapshot({ orders: 10, payments: 5, postgres: 20, gone: 1 }, 100, 400);
    const after = snapshot({ orders: 12, payments: 6, postgres: 23, gone: undefined }, 250, 600);
    const cpu = cpuPerOrder(before, after, 1_000);
    expect(cpu.perOrderMs).to.deep.equal({ orders: 2, payments: 1, postgres: 3, all: 6 });
    expect(cpu.busyPercent).to.equal(75);
  });

  it('reads this process and the machine from /proc', async () => {
    const first = await cpuSnapshot({ self: process.pid });
    const end = Date.now() + 50;
    while (Date.now() < end); // burn a little CPU
    const second = await cpuSnapshot({ self: process.pid });
    expect(second.parts['self']).to.be.a('number');
    expect(second.parts['load generator']).to.be.at.least(second.parts['self'] as number); // read a moment later
    expect(second.total).to.be.greaterThan(first.total);
    expect(second.busy).to.be.at.least(first.busy);
  });

  it('tables the CPU per order at the maximum and at each rate, in the parts measured', () => {
    const cpu = (all: number) => ({
      perOrderMs: { gateway: all / 4, orders: all / 4, postgres: all / 2, all },
      busyPercent: 90,
    });
    const results: BenchResults = {
      when: '2026-11-25T00:00:00.000Z',
      mode: 'quick',
      machine: machine(),
      raw: { outboxTps: 2_000, publishPerSecond: 10_000, bareDirectRps: 6_000, bareProxyRps: 3_000 },
      gatewayOnBareRps: 2_500,
      sustained: {
        acceptedPerSecond: 700,
        paidPerSecond: 700,
        relayPublishPerSecond: 9_000,
        concurrency: 32,
        cpu: cpu(2.4),
      },
      gateway: { directRps: 4_000, viaGatewayRps: 2_300 },
      latency: [
        {
          offeredRate: 350,
          achievedRate: 350,
          orders: 5_250,
          final: { p50: 18, p95: 30, p99: 48, max: 69 },
          accept: { p50: 6, p99: 22 },
          cpu: cpu(4.8),
        },
      ],
      processes: {},
      ratios: { paidToRawOutbox: 0.35, relayToRawPublish: 0.9, gatewayToBareProxy: 0.83 },
    };
    const text = table(results);
    expect(text).to.contain('| load | CPU ms per order: gateway / orders / postgres / all | cores busy |');
    expect(text).to.contain('| closed loop (700 /s) | 0.60 / 0.60 / 1.20 / 2.40 | 90 % |');
    expect(text).to.contain('| 350 /s | 1.20 / 1.20 / 2.40 / 4.80 | 90 % |');
  });
});
