/**
 * A transaction boundary. `run` hands `work` a context whose repositories are all bound to one
 * transaction. Its effects commit atomically when `work` resolves, or not at all: when `work`
 * throws, or when the commit itself fails, `run` rejects and nothing of `work` remains. A write
 * the store refuses (a conflict, a broken invariant) makes `run` reject with that error, whether
 * the repository call or the commit is where the store said so. No network call belongs inside
 * `work`, and nothing is published before it commits.
 *
 * Repositories of one transaction may be called concurrently (independent reads, awaited
 * together); an implementation serves such calls in turn or together, never refusing them.
 */
export interface UnitOfWork<Tx> {
  /** Runs `work` in one transaction and returns its result once that transaction has committed. */
  run<T>(work: (tx: Tx) => Promise<T>): Promise<T>;
}
