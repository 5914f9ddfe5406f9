import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { rabbitmqctl } from '@gozon/testkit';

const run = promisify(execFile);
const DIST = join(dirname(fileURLToPath(import.meta.url)), '..');

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Databases on the local server whose names start with `prefix`, listed by psql. */
const databases = async (prefix: string): Promise<string[]> => {
  const sql = `SELECT datname FROM pg_database WHERE datname LIKE '${prefix}%'`;
  const { stdout } = await run('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-d', 'postgres', '-Atc', sql]);
  return stdout.split('\n').filter(Boolean);
};

/** Vhosts or users of the broker whose names start with `prefix`, listed by rabbitmqctl. */
const named = async (prefix: string, list: 'list_vhosts' | 'list_users'): Promise<string[]> =>
  (await rabbitmqctl(list, '--no-table-headers'))
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[0] ?? '')
    .filter((name) => name.startsWith(prefix));

/** Pids of the processes `pid` started. */
const children = async (pid: number): Promise<number[]> => {
  const { stdout } = await run('ps', ['-o', 'pid=', '--ppid', String(pid)]).catch(() => ({ stdout: '' }));
  return stdout.split('\n').filter(Boolean).map(Number);
};

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Starts `script` with its scratch names under a prefix of its own, so only its own are counted. */
const start = (script: string, args: string[]): { child: ChildProcess; prefix: string; output: () => string } => {
  const prefix = `gozon_sigterm_${randomBytes(3).toString('hex')}`;
  let output = '';
  const child = spawn(process.execPath, [join(DIST, script), ...args], {
    env: { ...process.env, GOZON_TEST_PREFIX: prefix },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { child, prefix, output: () => output };
};

const exited = (child: ChildProcess): Promise<number | null> =>
  child.exitCode !== null ? Promise.resolve(child.exitCode) : new Promise((resolve) => child.once('exit', resolve));

/** Waits until `ready` holds, polling; fails with the run's output if the run ends or time runs out. */
const until = async (
  ready: () => Promise<boolean>,
  run: ReturnType<typeof start>,
  timeoutMs: number,
): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!(await ready())) {
    if (run.child.exitCode !== null) throw new Error(`the run ended early (${run.child.exitCode}):\n${run.output()}`);
    if (Date.now() > deadline) throw new Error(`not ready in ${timeoutMs} ms:\n${run.output()}`);
    await sleep(200);
  }
};

/** Live processes started under `prefix` (their environment says so), whoever their parent is now. */
const runningUnder = async (prefix: string): Promise<number[]> => {
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const environ = await readFile(`/proc/${entry}/environ`, 'utf8').catch(() => '');
    if (environ.split('\0').includes(`GOZON_TEST_PREFIX=${prefix}`)) found.push(Number(entry));
  }
  return found;
};

const nothingLeft = async (prefix: string): Promise<void> => {
  // An orphaned part is adopted by init, so it is looked for by what it was given, not by parent.
  expect(await runningUnder(prefix), 'processes left running').to.deep.equal([]);
  expect(await databases(prefix), 'databases left').to.deep.equal([]);
  expect(await named(prefix, 'list_vhosts'), 'vhosts left').to.deep.equal([]);
  expect(await named(prefix, 'list_users'), 'broker users left').to.deep.equal([]);
};

describe('an interrupted bench or chaos run drops what it made', function () {
  this.timeout(120_000);

  it('chaos, stopped by SIGTERM with its parts running, stops them and drops its databases and vhost', async () => {
    const chaos = start('chaos/chaos.js', ['--duration', '60', '--seed', '1']);
    let parts: number[] = [];
    await until(
      async () => {
        parts = await children(chaos.child.pid!);
        return (await databases(chaos.prefix)).length === 2 && parts.length > 0;
      },
      chaos,
      60_000,
    );
    expect(await named(chaos.prefix, 'list_vhosts')).to.have.length(1);
    chaos.child.kill('SIGTERM');
    expect(await exited(chaos.child), chaos.output()).to.equal(143);
    await nothingLeft(chaos.prefix);
    expect(parts.filter(alive), 'processes left running').to.deep.equal([]);
  });

  it('the bench, stopped by SIGTERM while it measures the raw limits, drops the database it made', async () => {
    const out = join(tmpdir(), `gozon-bench-interrupted-${process.pid}`);
    const bench = start('bench/bench.js', ['--quick', '--out', out]);
    await until(async () => (await databases(bench.prefix)).length > 0, bench, 60_000);
    bench.child.kill('SIGTERM');
    expect(await exited(bench.child), bench.output()).to.equal(143);
    await nothingLeft(bench.prefix);
  });
});
