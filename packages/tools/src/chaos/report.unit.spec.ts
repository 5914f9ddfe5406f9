import { expect } from 'chai';
import { faultLines } from './report.js';

describe('chaos report: faults by kind', () => {
  it('says how soon every instance was ready again, and names those that were not within the wait', () => {
    const lines = faultLines({
      kinds: ['close AMQP connections', 'kill -9 orders', 'restart Postgres'],
      timeline: [
        { kind: 'close AMQP connections', at: 1_000, restoredAt: 2_000, readyAt: 2_500, detail: '' },
        {
          kind: 'close AMQP connections',
          at: 9_000,
          restoredAt: 9_500,
          readyAt: null,
          notReady: ['payments-2'],
          detail: '',
        },
        { kind: 'kill -9 orders', at: 20_000, restoredAt: 22_000, readyAt: 23_200, detail: '' },
      ],
    });
    expect(lines).to.deep.equal([
      'close AMQP connections: ×2, ready again ≤ 1.5 s after the fault, 1 not ready again within 30.0 s of being undone (payments-2)',
      'kill -9 orders: ×1, ready again ≤ 3.2 s after the fault',
      'restart Postgres: not injected (the run was too short)',
    ]);
  });
});
