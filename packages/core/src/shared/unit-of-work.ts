/**
 * A transaction boundary. `run` hands `work` a context whose repositories are all bound to one
 * transaction: it commits when `work` resolves and rolls everything back when it throws. No
 * network call belongs inside `work`, and nothing is published before it commits.
 *
 * The use cases may ask several repositories at once inside `work` (independent reads, awaited
 * together), so that an adapter able to pipeline can send them in one round trip: an adapter on a
 * single connection must queue overlapping calls, as database drivers do, not refuse them.
 */
export interface UnitOfWork<Tx> {
  /** Runs `work` in one transaction and returns its result after commit. */
  run<T>(work: (tx: Tx) => Promise<T>): Promise<T>;
}
