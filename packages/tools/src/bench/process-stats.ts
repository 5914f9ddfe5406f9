import { readdir, readFile } from 'node:fs/promises';

const TICKS = 100; // USER_HZ on Linux

/** CPU time (s) of a process, user and system, from /proc; undefined once it is gone. */
const cpuSecondsOf = async (pid: number | string): Promise<number | undefined> => {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS;
  } catch {
    return undefined;
  }
};

/** CPU time (s) and peak resident memory (MiB) of a process, from /proc. */
export const sample = async (pid: number): Promise<{ cpuSeconds: number; peakRssMiB: number } | undefined> => {
  const cpuSeconds = await cpuSecondsOf(pid);
  if (cpuSeconds === undefined) return undefined;
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
    return { cpuSeconds, peakRssMiB: hwm ? Number(hwm[1]) / 1024 : Number.NaN };
  } catch {
    return undefined;
  }
};

/** CPU time (s) of every process running `command` (its `comm`), summed; undefined when none runs here. */
const cpuSecondsOfCommand = async (command: string): Promise<number | undefined> => {
  let total: number | undefined;
  for (const pid of (await readdir('/proc')).filter((entry) => /^\d+$/.test(entry))) {
    const comm = await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '');
    if (comm.trim() !== command) continue;
    const seconds = await cpuSecondsOf(pid);
    if (seconds !== undefined) total = (total ?? 0) + seconds;
  }
  return total;
};

/** The servers GoZon uses, found by their command when they run on this machine. */
const SERVERS = { postgres: 'postgres', rabbitmq: 'beam.smp' } as const;

export interface CpuSnapshot {
  /** CPU seconds by part: the GoZon processes, the local servers, the load generator (this process). */
  readonly parts: Readonly<Record<string, number | undefined>>;
  /** The machine's busy and total CPU seconds, all cores (from /proc/stat). */
  readonly busy: number;
  readonly total: number;
}

/**
 * Where the CPU time goes at one moment: `pids` are the GoZon processes by name; `servers`, more
 * servers to count by their command (e.g. Redis, when the gateways share their budgets there).
 */
export const cpuSnapshot = async (
  pids: Readonly<Record<string, number>>,
  servers: Readonly<Record<string, string>> = {},
): Promise<CpuSnapshot> => {
  const parts: Record<string, number | undefined> = {};
  for (const [name, pid] of Object.entries(pids)) parts[name] = await cpuSecondsOf(pid);
  for (const [name, command] of Object.entries({ ...SERVERS, ...servers })) {
    parts[name] = await cpuSecondsOfCommand(command);
  }
  parts['load generator'] = await cpuSecondsOf(process.pid);
  // The first line of /proc/stat: user nice system idle iowait irq softirq steal (guest time is in user).
  const ticks = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = ticks.reduce((sum, value) => sum + value, 0) / TICKS;
  const idle = ((ticks[3] ?? 0) + (ticks[4] ?? 0)) / TICKS;
  return { parts, busy: total - idle, total };
};

export interface CpuPerOrder {
  /** CPU ms per order by part, and `all` of them together (parts not seen here are left out). */
  readonly perOrderMs: Readonly<Record<string, number>>;
  /** Share of the machine's cores busy meanwhile, %, whatever kept them busy. */
  readonly busyPercent: number;
}

/** The CPU that `orders` orders cost between two snapshots. */
export const cpuPerOrder = (before: CpuSnapshot, after: CpuSnapshot, orders: number): CpuPerOrder => {
  const perOrderMs: Record<string, number> = {};
  let all = 0;
  for (const [name, end] of Object.entries(after.parts)) {
    const start = before.parts[name];
    if (end === undefined || start === undefined) continue;
    perOrderMs[name] = ((end - start) * 1000) / orders;
    all += perOrderMs[name];
  }
  perOrderMs['all'] = all;
  const total = after.total - before.total;
  return { perOrderMs, busyPercent: total > 0 ? ((after.busy - before.busy) / total) * 100 : Number.NaN };
};

/** CPU per order with the instances of a part (`orders`, `orders-2`, …) added up under the part's name. */
export const byPart = (cpu: CpuPerOrder): CpuPerOrder => {
  const perOrderMs: Record<string, number> = {};
  for (const [name, ms] of Object.entries(cpu.perOrderMs)) {
    const part = name.replace(/-\d+$/, '');
    perOrderMs[part] = (perOrderMs[part] ?? 0) + ms;
  }
  return { ...cpu, perOrderMs };
};
