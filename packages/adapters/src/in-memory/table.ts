import { refuseUnstorableText } from '../stored-text.js';

/** Undo steps of the transaction in progress. */
export type Journal = Array<() => void>;

/**
 * A map whose writes can be undone: each write inside a transaction records how to reverse it,
 * so a rollback restores exactly what was there. Rows are stored as frozen copies, so nothing
 * outside can change them behind the table's back.
 */
export class Table<K, V extends object> {
  private readonly rows = new Map<K, Readonly<V>>();

  constructor(private readonly journal: () => Journal | null) {}

  get(key: K): Readonly<V> | undefined {
    return this.rows.get(key);
  }

  has(key: K): boolean {
    return this.rows.has(key);
  }

  values(): IterableIterator<Readonly<V>> {
    return this.rows.values();
  }

  get size(): number {
    return this.rows.size;
  }

  /**
   * Writes a row; text Postgres cannot store (U+0000, a lone surrogate) fails as it does there.
   * Keys are left alone: they are built here, with U+0000 between their parts.
   */
  set(key: K, value: V): void {
    refuseUnstorableText(value, true);
    const had = this.rows.has(key);
    const before = this.rows.get(key);
    this.rows.set(key, Object.freeze({ ...value }));
    this.journal()?.push(() => (had ? this.rows.set(key, before as V) : this.rows.delete(key)));
  }

  delete(key: K): void {
    if (!this.rows.has(key)) return;
    const before = this.rows.get(key) as V;
    this.rows.delete(key);
    this.journal()?.push(() => this.rows.set(key, before));
  }
}
