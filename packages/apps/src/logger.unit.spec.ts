import { expect } from 'chai';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger, LOG_FLUSH_MS, logDestination, sparingly } from './logger.js';

describe('logger: no secret reaches a line', () => {
  it('hides what an error or headers carry of connection strings, passwords and credentials', () => {
    let text = '';
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        text += chunk.toString();
        done();
      },
    });
    const log = createLogger('test', false, sink);
    const err = Object.assign(new Error('connect failed'), {
      connectionString: 'postgres://gozon:s3cret@db/orders',
      password: 's3cret',
      config: { url: 'amqp://guest:s3cret@broker' },
      client: { connectionParameters: { password: 's3cret' } },
      url: 'amqp://guest:s3cret@broker',
      headers: { authorization: 'Bearer s3cret', cookie: 'session=s3cret' },
    });
    log.error({ err }, 'request failed');
    log.info({ headers: { authorization: 'Basic s3cret', cookie: 'a=s3cret', accept: 'application/json' } }, 'request');
    const lines = text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).to.have.length(2);
    expect(text).not.to.include('s3cret');
    expect(text).to.include('connect failed').and.to.include('application/json');
  });
});

describe('logger: lines are written in batches, and none is lost when the process ends', function () {
  this.timeout(20_000);
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gozon-logger-'));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('gathers request lines into one write, made within the flush period', async () => {
    const file = join(dir, 'batched.log');
    const destination = logDestination(file);
    await new Promise((resolve) => destination.once('ready', resolve));
    const write = fs.write;
    let writes = 0;
    // sonic-boom looks `fs.write` up on every write: count them.
    (fs as { write: unknown }).write = (...args: unknown[]) => {
      writes += 1;
      return (write as (...a: unknown[]) => unknown)(...args);
    };
    try {
      const log = createLogger('test', false, destination).child({ service: 'gateway' });
      for (let i = 0; i < 5; i += 1) log.info({ method: 'GET', route: '/orders*', status: 200, n: i }, 'request');
      await new Promise((resolve) => setImmediate(resolve));
      expect(writes, 'writes before the batch filled or the period ended').to.equal(0);
      const deadline = Date.now() + 5_000;
      let text = '';
      while (text.split('\n').length < 6 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, LOG_FLUSH_MS / 4));
        text = await readFile(file, 'utf8');
      }
      expect(
        text
          .trim()
          .split('\n')
          .map((line) => (JSON.parse(line) as { n: number }).n),
      ).to.deep.equal([0, 1, 2, 3, 4]);
      expect(writes).to.equal(1);
    } finally {
      (fs as { write: unknown }).write = write;
      destination.end();
    }
  });

  /** Runs a node process that logs through `createLogger` onto a pipe, then ends as `ending` says. */
  const stdoutOf = (ending: string): Promise<{ code: number | null; stdout: string }> =>
    new Promise((resolve, reject) => {
      const logger = new URL('./logger.js', import.meta.url).href;
      const script = `const { createLogger } = await import(${JSON.stringify(logger)});
const log = createLogger('test', false);
log.info('first');
log.fatal({ reason: 'x' }, 'last words');
${ending}`;
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
        env: { ...process.env, LOG_LEVEL: 'info' },
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      let stdout = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout }));
    });

  const messages = (stdout: string): string[] =>
    stdout
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { msg: string }).msg);

  it('writes what is buffered when the process exits (a failed start, the end of a graceful shutdown)', async () => {
    const { code, stdout } = await stdoutOf('process.exit(3);');
    expect(code).to.equal(3);
    expect(messages(stdout)).to.deep.equal(['first', 'last words']);
  });

  it('writes what is buffered when an uncaught exception ends the process', async () => {
    const { code, stdout } = await stdoutOf("setTimeout(() => { throw new Error('boom'); }, 1);");
    expect(code).to.equal(1);
    expect(messages(stdout)).to.deep.equal(['first', 'last words']);
  });

  it('writes what is buffered when the process ends on its own', async () => {
    const { code, stdout } = await stdoutOf('');
    expect(code).to.equal(0);
    expect(messages(stdout)).to.deep.equal(['first', 'last words']);
  });
});

describe('logger: a failure that repeats is reported sparingly', () => {
  it('reports the first at once, then one per period with the count it stands for', () => {
    let clock = 0;
    const lines: string[] = [];
    const report = sparingly(
      10_000,
      (err, failures) => lines.push(`${String(err)} ×${failures}`),
      () => clock,
    );
    report('down 1');
    report('down 2');
    clock = 9_999;
    report('down 3');
    clock = 10_000;
    report('down 4');
    clock = 30_000;
    report('down 5');
    expect(lines).to.deep.equal(['down 1 ×1', 'down 4 ×3', 'down 5 ×1']);
  });
});
