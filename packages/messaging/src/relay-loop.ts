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
 * Runs the relay step until stopped: at once after a full batch, on `wake()` (a commit that
 * appended to the outbox), every `pollMs` otherwise, and with backoff after a failure.
 */
export class RelayLoop {
  private running = false;
  private done: Promise<void> = Promise.resolve();
  private readonly sleepers = new Set<() => void>();
  private woken = 0;

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
    this.woken += 1;
    for (const wakeUp of [...this.sleepers]) wakeUp();
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
      const seen = this.woken;
      let wait = this.options.pollMs;
      try {
        const published = await this.step.execute();
        backoff = this.options.minBackoffMs;
        if (published >= this.step.batchSize) continue;
        if (published > 0) wait = 0;
      } catch (err) {
        this.options.onError?.(err);
        wait = backoff;
        backoff = Math.min(backoff * 2, this.options.maxBackoffMs);
      }
      // A wake-up that came while the step ran is not lost: look again at once.
      if (this.running && this.woken === seen && wait > 0) await this.sleep(wait);
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
