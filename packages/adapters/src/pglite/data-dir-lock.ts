import { readFile, rm, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';

/** An embedded database's directory that another live process (or this one) has open. */
export class DataDirInUse extends Error {
  override readonly name = 'DataDirInUse';

  constructor(
    readonly dataDir: string,
    /** The process that has it open. */
    readonly pid: number,
  ) {
    super(`the embedded database in ${dataDir} is in use by process ${pid}`);
  }
}

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, as someone else's.
    return (err as { code?: unknown }).code === 'EPERM';
  }
};

const holderOf = async (path: string): Promise<number> =>
  Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);

/**
 * Takes `<dataDir>.lock` for this process, or throws `DataDirInUse`. PGlite is Postgres in one
 * process with no lock of its own: two processes on one directory would each write its files as if
 * alone and corrupt it. The lock names its process; one left by a process that died (a kill -9) is
 * taken over. Returns the release, which removes the lock only while it is still this process's.
 */
export const lockDataDir = async (dataDir: string): Promise<() => Promise<void>> => {
  const path = `${resolve(dataDir)}.lock`;
  for (let attempt = 0; attempt < 4; attempt += 1) {
    try {
      await writeFile(path, `${process.pid}\n`, { flag: 'wx' });
      return async () => {
        if ((await holderOf(path)) === process.pid) await rm(path, { force: true });
      };
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'EEXIST') throw err;
    }
    const holder = await holderOf(path);
    if (holder > 0 && (holder === process.pid || isAlive(holder))) throw new DataDirInUse(dataDir, holder);
    // Empty: being written this moment, or left by a process that died writing it. Look again.
    if (Number.isNaN(holder) && attempt < 2) {
      await new Promise((done) => setTimeout(done, 100));
      continue;
    }
    // Left by a process that is gone: take it over.
    await rm(path, { force: true });
  }
  throw new Error(`could not lock ${path}: other processes keep taking it`);
};
