// The local Postgres server itself, for the `restart Postgres` fault: Debian's pg_ctlcluster, as CI
// starts it. Whatever happens, the run brings it back and says so if it cannot.
import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The local cluster's version (`/etc/postgresql/<version>/main`). */
const version = async (): Promise<string> => {
  const versions = (await readdir('/etc/postgresql')).filter((v) => /^\d+$/.test(v)).sort();
  const last = versions[versions.length - 1];
  if (!last) throw new Error('no local Postgres cluster under /etc/postgresql');
  return last;
};

const ctl = async (...args: string[]): Promise<void> => {
  await run('pg_ctlcluster', ['--skip-systemctl-redirect', await version(), 'main', ...args], { timeout: 60_000 });
};

/** Whether Postgres accepts connections on 127.0.0.1:5432 now. */
export const postgresIsUp = async (): Promise<boolean> =>
  run('pg_isready', ['-q', '-h', '127.0.0.1', '-p', '5432'], { timeout: 10_000 }).then(
    () => true,
    () => false,
  );

/** Restarts the server with a fast shutdown (sessions cut, no checkpoint wait) and waits until it answers. */
export const restartPostgres = async (): Promise<void> => {
  try {
    await ctl('restart', '-m', 'fast');
  } finally {
    await waitUp(30_000);
  }
};

/** Starts the server if it is down, and waits until it answers. */
export const startPostgres = async (): Promise<void> => {
  if (await postgresIsUp()) return;
  await ctl('start').catch(() => undefined);
  await waitUp(60_000);
};

const waitUp = async (timeoutMs: number): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!(await postgresIsUp())) {
    if (Date.now() > deadline) throw new Error(`Postgres not answering ${timeoutMs / 1000} s after a restart`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
};
