import { expect } from 'chai';
import { poisonDecision, PoisonMessage, screenRedelivery, type DeliveryCounter } from './poison.js';

/** Counts in a map, or fails like a database that is down. */
class MapCounter implements DeliveryCounter {
  readonly counts = new Map<string, number>();
  down = false;
  async count(consumer: string, messageId: string): Promise<number> {
    if (this.down) throw new Error('connection refused');
    const key = `${consumer}\u0000${messageId}`;
    const next = (this.counts.get(key) ?? 0) + 1;
    this.counts.set(key, next);
    return next;
  }

  async takeBack(consumer: string, messageId: string): Promise<void> {
    const key = `${consumer}\u0000${messageId}`;
    this.counts.set(key, Math.max(0, (this.counts.get(key) ?? 0) - 1));
  }
}

describe('poison decision', () => {
  it('handles a message up to the limit of redeliveries and dead-letters it past the limit', () => {
    expect(poisonDecision(1, 5)).to.deep.equal({ action: 'handle' });
    expect(poisonDecision(5, 5)).to.deep.equal({ action: 'handle' });
    expect(poisonDecision(6, 5)).to.deep.equal({
      action: 'dead-letter',
      reason: 'dead-lettered as poison after 6 redeliveries',
    });
  });

  it('with a limit of 0 dead-letters the first redelivery', () => {
    expect(poisonDecision(1, 0).action).to.equal('dead-letter');
  });

  it('lets a crashing handler run at most limit + 1 times in all', async () => {
    const guard = { counter: new MapCounter(), maxRedeliveries: 3 };
    let handled = 0;
    // The first delivery is not redelivered and is not counted; each crash brings it back.
    for (let delivery = 1; ; delivery += 1) {
      const poison = delivery === 1 ? null : await screenRedelivery(guard, 'q', 'm-1', () => undefined);
      if (poison) {
        expect(poison.redeliveries).to.equal(4);
        break;
      }
      handled += 1;
    }
    expect(handled).to.equal(4);
  });
});

describe('screening a redelivered message', () => {
  it('reports the poison message with its id and count', async () => {
    const guard = { counter: new MapCounter(), maxRedeliveries: 1 };
    expect(await screenRedelivery(guard, 'order.payments', 'm-1', () => undefined)).to.equal(null);
    const poison = await screenRedelivery(guard, 'order.payments', 'm-1', () => undefined);
    expect(poison).to.be.instanceOf(PoisonMessage);
    expect(poison).to.include({ messageId: 'm-1', redeliveries: 2 });
    expect(poison?.message).to.equal('dead-lettered as poison after 2 redeliveries');
  });

  it('counts each consumer and message apart', async () => {
    const guard = { counter: new MapCounter(), maxRedeliveries: 1 };
    await screenRedelivery(guard, 'order.payments', 'm-1', () => undefined);
    expect(await screenRedelivery(guard, 'payment.status', 'm-1', () => undefined)).to.equal(null);
    expect(await screenRedelivery(guard, 'order.payments', 'm-2', () => undefined)).to.equal(null);
  });

  it('lets the message through when the counter fails, and says why', async () => {
    const counter = new MapCounter();
    counter.down = true;
    const errors: unknown[] = [];
    const guard = { counter, maxRedeliveries: 0 };
    expect(await screenRedelivery(guard, 'q', 'm-1', (err) => errors.push(err))).to.equal(null);
    expect(errors).to.have.length(1);
    const throwing = () => {
      throw new Error('observer failed');
    };
    expect(await screenRedelivery(guard, 'q', 'm-1', throwing)).to.equal(null);
  });
});
