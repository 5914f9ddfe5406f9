import { expect } from 'chai';
import { activityBetween, type ActivitySnapshot } from './pg-activity.js';

describe('bench: what a scratch database did between two snapshots', () => {
  it("takes differences by index, leaves each snapshot's own reading of the counters out, and sums the entries read", () => {
    const before: ActivitySnapshot = {
      commitsBeforeRead: 40,
      commitsAfterRead: 41, // the snapshot's own read of pg_stat_user_indexes
      indexes: { outbox_unpublished: { scans: 2, entriesRead: 5 }, outbox_pkey: { scans: 0, entriesRead: 0 } },
    };
    const after: ActivitySnapshot = {
      commitsBeforeRead: 141,
      commitsAfterRead: 142,
      indexes: {
        outbox_unpublished: { scans: 12, entriesRead: 905 },
        outbox_pkey: { scans: 50, entriesRead: 50 },
        made_meanwhile: { scans: 1, entriesRead: 3 },
      },
    };
    expect(activityBetween(before, after)).to.deep.equal({
      commits: 100,
      indexEntriesRead: 953,
      indexes: {
        outbox_unpublished: { scans: 10, entriesRead: 900 },
        outbox_pkey: { scans: 50, entriesRead: 50 },
        made_meanwhile: { scans: 1, entriesRead: 3 },
      },
    });
  });
});
