import type { OutboxStore } from './outbox-store.js';

export interface RelayOptions {
  /** Rows claimed and published together. */
  readonly batchSize: number;
  /**
   * How long a claim lasts before another relay may take the rows. It bounds how long the rows of
   * a relay that died mid-batch wait; a publish slower than it is published twice (absorbed).
   */
  readonly leaseMs: number;
}

export const defaultRelayOptions: RelayOptions = { batchSize: 200, leaseMs: 10_000 };

/**
 * One step of an outbox relay, as a `RelayLoop` runs it: take a batch, publish it, and mark it
 * published only after the broker confirmed it. A crash between publish and mark publishes the
 * batch again later; the consumers' inbox absorbs the repeat.
 */
export interface RelayStep {
  /** Rows taken and published together: a step that published this many comes back at once. */
  readonly batchSize: number;
  /** Publishes one batch; returns how many messages it published (0 when none waited). */
  execute(): Promise<number>;
  /**
   * Rows were given back (a publish on commit failed): a step that reads on from where it left
   * off looks again from the oldest row, since they may lie behind it. Optional: a step that
   * claims from the oldest row every time needs nothing.
   */
  rewind?(): void;
  /** Marks every confirmed row not marked yet and lets go of the outbox (before the relay stops). */
  flush(): Promise<void>;
}

/**
 * Rows the broker confirmed that are not marked yet. A relay marks them with its next read, one
 * statement per batch instead of two; they are taken out while being marked, so a concurrent step
 * does not mark them a second time, and put back when that fails (the database went away
 * meanwhile), so they are not left pending until their lease runs out and published again.
 */
export class UnmarkedRows {
  private readonly ids = new Set<string>();

  add(ids: Iterable<string>): void {
    for (const id of ids) this.ids.add(id);
  }

  /** Runs `read` with the rows to mark along with it; they come back if it fails. */
  async markWith<T>(read: (confirmed: string[]) => Promise<T>): Promise<T> {
    const confirmed = [...this.ids];
    this.ids.clear();
    try {
      return await read(confirmed);
    } catch (err) {
      this.add(confirmed);
      throw err;
    }
  }

  /** Marks them all, on their own. */
  async mark(store: Pick<OutboxStore, 'markPublished'>): Promise<void> {
    if (this.ids.size === 0) return;
    await this.markWith((confirmed) => store.markPublished(confirmed));
  }
}
