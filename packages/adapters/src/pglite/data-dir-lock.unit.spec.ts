import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { rejectionOf } from '../contract/fixtures.js';
import { DataDirInUse, lockDataDir } from './data-dir-lock.js';

describe('the lock on an embedded database directory', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gozon-lock-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is one holder’s at a time, and free again once released', async () => {
    const data = join(dir, 'payments');
    const release = await lockDataDir(data);
    expect(await readFile(`${data}.lock`, 'utf8')).to.equal(`${process.pid}\n`);
    const refused = await rejectionOf(lockDataDir(data));
    expect(refused).to.be.instanceOf(DataDirInUse).and.include({ pid: process.pid });
    expect((refused as Error).message).to.equal(`the embedded database in ${data} is in use by process ${process.pid}`);
    await release();
    await (
      await lockDataDir(data)
    )();
  });

  it('is refused while a live process holds it, and taken over from one that is gone', async () => {
    const data = join(dir, 'orders');
    // The parent of this process is alive as long as the test runs.
    await writeFile(`${data}.lock`, `${process.ppid}\n`);
    expect(await rejectionOf(lockDataDir(data)))
      .to.be.instanceOf(DataDirInUse)
      .and.include({ pid: process.ppid });
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
    await writeFile(`${data}.lock`, `${gone}\n`);
    const release = await lockDataDir(data);
    expect(await readFile(`${data}.lock`, 'utf8')).to.equal(`${process.pid}\n`);
    await release();
  });

  it('takes over a lock left empty by a process that died writing it', async () => {
    const data = join(dir, 'orders');
    await writeFile(`${data}.lock`, '');
    await (
      await lockDataDir(data)
    )();
  });
});
