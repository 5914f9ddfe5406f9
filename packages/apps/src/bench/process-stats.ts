import { readFile } from 'node:fs/promises';

const TICKS = 100; // USER_HZ on Linux

/** CPU time (s) and peak resident memory (MiB) of a process, from /proc. */
export const sample = async (pid: number): Promise<{ cpuSeconds: number; peakRssMiB: number } | undefined> => {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / TICKS;
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
    return { cpuSeconds, peakRssMiB: hwm ? Number(hwm[1]) / 1024 : Number.NaN };
  } catch {
    return undefined;
  }
};
