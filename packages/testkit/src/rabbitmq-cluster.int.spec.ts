import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { defaultClusterDir, freeBasePort } from './rabbitmq-cluster.js';

const cli = new URL('./rabbitmq-cluster.js', import.meta.url).pathname;

const run = (args: string[], interruptWhen?: () => boolean): Promise<{ code: number | null; out: string }> =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const poll = interruptWhen
      ? setInterval(() => {
          if (interruptWhen()) {
            clearInterval(poll);
            child.kill('SIGINT');
          }
        }, 50)
      : undefined;
    child.on('exit', (code) => {
      if (poll) clearInterval(poll);
      resolve({ code, out });
    });
  });

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

// One node each, to keep it short: the three-node cluster runs in the adapters' cluster suite.
describe('the local RabbitMQ cluster script: start, stop, and an interrupted start', function () {
  this.timeout(90_000);

  it('starts nodes that outlive the command, and stop kills them and deletes their folder', async () => {
    const base = await freeBasePort(1);
    const started = await run(['start', '--nodes', '1', '--base-port', String(base)]);
    expect(started.code, started.out).to.equal(0);
    const { urls, nodes, dir } = JSON.parse(started.out) as {
      urls: string[];
      nodes: { name: string; pid: number }[];
      dir: string;
    };
    expect(urls).to.deep.equal([`amqp://guest:guest@127.0.0.1:${base}`]);
    expect(nodes[0]?.name).to.equal(`gozon-${base}@localhost`);
    expect(dir).to.equal(defaultClusterDir(base));
    const pid = nodes[0]?.pid as number;
    expect(alive(pid)).to.equal(true);
    const stopped = await run(['stop', '--base-port', String(base)]);
    expect(stopped.code, stopped.out).to.equal(0);
    expect(alive(pid)).to.equal(false);
    expect(existsSync(dir)).to.equal(false);
  });

  it('kills what it started and deletes the folder when interrupted while starting', async () => {
    const base = await freeBasePort(1);
    const dir = defaultClusterDir(base);
    const pidFile = join(dir, 'node-0', 'node.pid');
    let pid: number | undefined;
    const run1 = await run(['start', '--nodes', '1', '--base-port', String(base)], () => {
      if (!existsSync(pidFile)) return false;
      pid = Number(readFileSync(pidFile, 'utf8').trim()) || undefined;
      return pid !== undefined;
    });
    expect(run1.code, run1.out).to.equal(130);
    expect(pid).to.be.a('number');
    expect(alive(pid as number)).to.equal(false);
    expect(existsSync(dir)).to.equal(false);
  });
});
