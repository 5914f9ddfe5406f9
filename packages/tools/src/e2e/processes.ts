import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { onCleanup } from '@gozon/testkit';

/** The `gozon` bin of the apps package, wherever the workspace links it from. */
const BIN = join(dirname(createRequire(import.meta.url).resolve('@gozon/apps/package.json')), 'bin', 'gozon.js');

/** Ports this process has handed out: the kernel may offer a closed one again, to another part. */
const handedOut = new Set<number>();

/** A port free on 127.0.0.1 and not handed out before by this process, for a part to listen on. */
export const freePort = async (): Promise<number> => {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
      });
    });
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
};

const OUTPUT_LIMIT = 8 * 1024 * 1024;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The last `limit` bytes of the file at `path` ('' if it cannot be read). */
const tailOf = (path: string, limit: number): string => {
  try {
    const size = statSync(path).size;
    const length = Math.min(size, limit);
    const buffer = Buffer.alloc(length);
    const fd = openSync(path, 'r');
    try {
      readSync(fd, buffer, 0, length, size - length);
    } finally {
      closeSync(fd);
    }
    return buffer.toString();
  } catch {
    return '';
  }
};

/**
 * One `gozon <part>` child process, with its output kept for the test to read: through a pipe
 * into this process's memory, or, given `outputFile`, written by the child straight to that file,
 * which costs this process nothing while the child runs (what a load generator wants).
 */
export class GozonProcess {
  private child: ChildProcess | undefined;
  private kept = '';
  exitCode: number | null | undefined;

  constructor(
    readonly part: string,
    readonly env: NodeJS.ProcessEnv,
    readonly healthUrl: string | undefined,
    readonly cwd?: string,
    /** Arguments after the part, e.g. `dlq list`. */
    readonly args: readonly string[] = [],
    /** Where the child writes its stdout and stderr (appended), instead of a pipe to this process. */
    readonly outputFile?: string,
    /** Options for node itself, before the script (e.g. `--cpu-prof`). */
    readonly nodeArgs: readonly string[] = [],
  ) {}

  /** What the process has written so far (its last few megabytes). */
  get output(): string {
    return this.outputFile ? tailOf(this.outputFile, OUTPUT_LIMIT) : this.kept;
  }

  /** Starts the process and waits until its `/readyz` (or `/healthz`) answers 200. */
  async start(timeoutMs = 60_000): Promise<void> {
    this.exitCode = undefined;
    const file = this.outputFile ? openSync(this.outputFile, 'a') : undefined;
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, [...this.nodeArgs, BIN, this.part, ...this.args], {
        env: { ...process.env, LOG_LEVEL: 'info', ...this.env },
        cwd: this.cwd,
        stdio: ['ignore', file ?? 'pipe', file ?? 'pipe'],
      });
    } finally {
      // The child holds its own copy of the descriptor.
      if (file !== undefined) closeSync(file);
    }
    this.child = child;
    // An interrupted run stops its children too, rather than leaving them on the databases it drops.
    const unregister = onCleanup(`gozon ${this.part} (pid ${child.pid})`, () => this.kill('SIGTERM'));
    child.stdout?.on('data', (chunk: Buffer) => this.keep(chunk));
    child.stderr?.on('data', (chunk: Buffer) => this.keep(chunk));
    child.on('exit', (code) => {
      this.exitCode = code;
      unregister();
    });
    if (!this.healthUrl) return;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.exitCode !== undefined) throw new Error(`gozon ${this.part} exited (${this.exitCode}):\n${this.output}`);
      const ok = await fetch(this.healthUrl)
        .then((res) => res.ok)
        .catch(() => false);
      if (ok) return;
      if (Date.now() > deadline) throw new Error(`gozon ${this.part} not ready in ${timeoutMs} ms:\n${this.output}`);
      await sleep(100);
    }
  }

  /**
   * Waits until the output matches `pattern` and returns it: a process writes its log lines in
   * batches, so a line may come up to the logger's flush period after what it tells of.
   */
  async outputMatching(pattern: RegExp, timeoutMs = 5_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.output) && Date.now() < deadline) await sleep(50);
    return this.output;
  }

  /** Keeps the output, up to its last few megabytes (a long run logs much). */
  private keep(chunk: Buffer): void {
    this.kept += chunk.toString();
    if (this.kept.length > OUTPUT_LIMIT) this.kept = this.kept.slice(-OUTPUT_LIMIT / 2);
  }

  /** The operating system's id of the running process, if it runs. */
  get pid(): number | undefined {
    return this.exitCode === undefined ? this.child?.pid : undefined;
  }

  /** Waits for the process to exit and returns its exit code. */
  async exited(timeoutMs = 20_000): Promise<number | null> {
    const deadline = Date.now() + timeoutMs;
    while (this.exitCode === undefined) {
      if (Date.now() > deadline) throw new Error(`gozon ${this.part} did not exit in ${timeoutMs} ms`);
      await sleep(20);
    }
    return this.exitCode;
  }

  /** Sends `signal` and waits for the exit. */
  async kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (!this.child || this.exitCode !== undefined) return this.exitCode ?? null;
    this.child.kill(signal);
    return this.exited();
  }
}
