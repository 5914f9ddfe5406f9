import type { RelayStep } from './relay-outbox.js';

export interface RelayLoopOptions {
  /** How often to look for rows when nobody wakes the loop (the fallback for lost wake-ups). */
  readonly pollMs: number;
  /** First wait after a failed step; it doubles up to `maxBackoffMs`. */
  readonly minBackoffMs: number;
  readonly maxBackoffMs: number;
  /**
   * Steps run at once (default 1). Two let one batch's claim or mark overlap another's publish;
   * leases keep their batches apart. Messages of different batches may then pass each other.
   */
  readonly concurrency?: number;
  /** Told of each failed step; the loop goes on. */
  readonly onError?: (err: unknown) => void;
}

export const defaultRelayLoopOptions: RelayLoopOptions = { pollMs: 500, minBackoffMs: 50, maxBackoffMs: 5_000 };

/**
 * Runs the relay step until stopped: when woken (`wake()`: a commit appended to the outbox), every
 * `pollMs` otherwise, and with backoff after a failure. A wake-up starts one step, not one per
 * worker: the others would find nothing and only cost the database a statement each. A step that
 * published a full batch goes on at once and calls in another worker, so a backlog is drained
 * `concurrency` steps at a time. Wake-ups that come while every worker is busy are folded into
 * one more step. A step that found less than a batch waits for the next wake-up: what it
 * published is marked with the next read.
 */
export class RelayLoop {
  private running = false;
  private done: Promise<void> = Promise.resolve();
  private readonly sleepers = new Set<() => void>();
  /** A wake-up no sleeping worker took: the next worker to finish a step takes it. */
  private wakePending = false;
  /** Wake-ups of one turn (say, NOTIFYs read together) are one. */
  private waking = false;

  constructor(
    private readonly step: RelayStep,
    private readonly options: RelayLoopOptions = defaultRelayLoopOptions,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    const workers = Array.from({ length: Math.max(1, this.options.concurrency ?? 1) }, () => this.loop());
    this.done = Promise.all(workers).then(() => undefined);
  }

  /** Asks the loop to look at the outbox now. */
  wake(): void {
    if (this.waking) return;
    this.waking = true;
    queueMicrotask(() => {
      this.waking = false;
      const [sleeper] = this.sleepers;
      if (sleeper) sleeper();
      else this.wakePending = true;
    });
  }

  /** Stops after the steps in progress, if any, and marks what they published. */
  async stop(): Promise<void> {
    this.running = false;
    for (const wakeUp of [...this.sleepers]) wakeUp();
    await this.done;
    // Unmarked rows are published again once their lease runs out: harmless, but avoidable.
    await this.step.flush().catch((err: unknown) => this.options.onError?.(err));
  }

  private async loop(): Promise<void> {
    let backoff = this.options.minBackoffMs;
    while (this.running) {
      let failed = false;
      try {
        const published = await this.step.execute();
        backoff = this.options.minBackoffMs;
        if (published >= this.step.batchSize) {
          // More may wait: another worker, if one sleeps, takes the next batch beside this one.
          const [helper] = this.sleepers;
          helper?.();
          continue;
        }
      } catch (err) {
        this.options.onError?.(err);
        failed = true;
      }
      if (failed) {
        await this.sleep(backoff);
        backoff = Math.min(backoff * 2, this.options.maxBackoffMs);
        continue;
      }
      // A wake-up that came while every worker was busy: this one takes it.
      if (this.wakePending) {
        this.wakePending = false;
        continue;
      }
      if (this.running) await this.sleep(this.options.pollMs);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const finish = (): void => {
        clearTimeout(timer);
        this.sleepers.delete(finish);
        resolve();
      };
      const timer = setTimeout(finish, ms);
      this.sleepers.add(finish);
    });
  }
}
