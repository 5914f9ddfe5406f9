/**
 * The order to try a cluster's nodes in. At first, as listed: the first node that answers. After
 * the node at `lost` dropped the connection, every other node first, as listed, and the lost one
 * last: it may be back by then (a restart), or the only one left.
 */
export const nodeOrder = (count: number, lost?: number): number[] => {
  const all = Array.from({ length: count }, (_, i) => i);
  if (lost === undefined || lost < 0 || lost >= count) return all;
  return [...all.filter((i) => i !== lost), lost];
};
