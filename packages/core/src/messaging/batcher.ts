export interface BatcherOptions {
  /** Most items one batch takes. */
  readonly maxSize: number;
  /** Batches run at once. */
  readonly concurrency: number;
}

interface Waiting<T> {
  readonly item: T;
  readonly done: () => void;
}

/**
 * Groups items that arrive while earlier batches run, like a database's group commit: an item
 * that finds a batch slot free starts one at once (alone, when the system is quiet, so waiting
 * adds no delay), and whatever arrives while every slot is busy goes into the next batch.
 */
export class Batcher<T> {
  private readonly waiting: Waiting<T>[] = [];
  private running = 0;

  constructor(
    /** Handles one batch; it must settle each item itself (a rejection is ignored). */
    private readonly run: (items: T[]) => Promise<void>,
    private readonly options: BatcherOptions,
  ) {}

  /** Queues `item`; resolves once the batch that took it has finished. */
  add(item: T): Promise<void> {
    return new Promise<void>((done) => {
      this.waiting.push({ item, done });
      this.pump();
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
