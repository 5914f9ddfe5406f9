import type { RelayOutbox } from './relay-outbox.js';

export interface RelayLoopOptions {
  /** How often to look for rows when nobody wakes the loop (the fallback for lost wake-ups). */
  readonly pollMs: number;
  /** First wait after a failed step; it doubles up to `maxBackoffMs`. */
  readonly minBackoffMs: number;
  readonly maxBackoffMs: number;
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
  private wakeUp: (() => void) | null = null;
  private woken = false;

  constructor(
    private readonly step: RelayOutbox,
    private readonly options: RelayLoopOptions = defaultRelayLoopOptions,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.done = this.loop();
  }

  /** Asks the loop to look at the outbox now. */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  /** Stops after the step in progress, if any. */
  async stop(): Promise<void> {
    this.running = false;
    this.wakeUp?.();
    await this.done;
  }

  private async loop(): Promise<void> {
    let backoff = this.options.minBackoffMs;
    while (this.running) {
      this.woken = false;
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
      if (this.running && !this.woken && wait > 0) await this.sleep(wait);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(finish, ms);
      function finish(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = finish;
    }).finally(() => {
      this.wakeUp = null;
    });
  }
}
