export interface BatcherOptions {
  /** Most items one batch takes. */
  readonly maxSize: number;
  /** Batches run at once. */
  readonly concurrency: number;
  /**
   * How a free slot waits for the items that arrive together with the first: it is handed the
   * start of the batch and calls it, now or a moment later (e.g. `setImmediate`, once the I/O of
   * the current turn has been read). Without it a batch starts at once.
   */
  readonly gather?: (start: () => void) => void;
}

interface Waiting<T> {
  readonly item: T;
  readonly done: () => void;
}

/**
 * Groups items that arrive while earlier batches run, like a database's group commit: an item
 * that finds a batch slot free starts one at once (alone, when the system is quiet, so waiting
 * adds no delay), or once `gather` says so, and whatever arrives while every slot is busy goes
 * into the next batch.
 */
export class Batcher<T> {
  private readonly waiting: Waiting<T>[] = [];
  private running = 0;
  private gathering = false;

  constructor(
    /** Handles one batch; it must settle each item itself (a rejection is ignored). */
    private readonly run: (items: T[]) => Promise<void>,
    private readonly options: BatcherOptions,
  ) {}

  /** Queues `item`; resolves once the batch that took it has finished. */
  add(item: T): Promise<void> {
    return new Promise<void>((done) => {
      this.waiting.push({ item, done });
      const gather = this.options.gather;
      if (!gather) this.pump();
      else if (!this.gathering && this.running < this.options.concurrency) {
        // While every slot is busy there is nothing to start: the next batch to finish pumps.
        this.gathering = true;
        gather(() => {
          this.gathering = false;
          this.pump();
        });
      }
    });
  }

  private pump(): void {
    while (this.running < this.options.concurrency && this.waiting.length > 0) {
      const batch = this.waiting.splice(0, Math.max(1, this.options.maxSize));
      this.running += 1;
      void this.run(batch.map((w) => w.item))
        .catch(() => undefined)
        .finally(() => {
          this.running -= 1;
          for (const w of batch) w.done();
          this.pump();
        });
    }
  }
}
