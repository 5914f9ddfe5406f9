/** A repository that loads one aggregate by key, and perhaps many at once. */
export interface LoadsByKey<K, V> {
  get(key: K): Promise<V | null>;
  getMany?(keys: readonly K[]): Promise<Map<K, V>>;
}

const inOrder = <K>(keys: readonly K[]): K[] => [...new Set(keys)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

/**
 * Loads every key's aggregate (those that exist): with one `getMany` where the repository has it,
 * else one `get` per key. Keys are taken once each, in sorted order, so locks are taken in one
 * order whichever way they are loaded.
 */
export const loadAll = async <K extends string, V>(
  repository: LoadsByKey<K, V>,
  keys: readonly K[],
): Promise<Map<K, V>> => {
  const wanted = inOrder(keys);
  if (wanted.length === 0) return new Map();
  if (repository.getMany) return repository.getMany(wanted);
  const found = new Map<K, V>();
  for (const key of wanted) {
    const value = await repository.get(key);
    if (value !== null) found.set(key, value);
  }
  return found;
};
