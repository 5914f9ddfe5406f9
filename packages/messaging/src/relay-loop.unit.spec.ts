import { expect } from 'chai';
import { RelayLoop } from './relay-loop.js';
import type { RelayStep } from './relay-outbox.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A step that publishes what it is told to, taking a few milliseconds, and counts its runs. */
class CountingStep implements RelayStep {
  readonly batchSize = 10;
  executions = 0;
  running = 0;
  mostAtOnce = 0;
  /** What the next steps publish, in turn; 0 once it is empty. */
  readonly results: number[] = [];

  async execute(): Promise<number> {
    this.executions += 1;
    this.running += 1;
    this.mostAtOnce = Math.max(this.mostAtOnce, this.running);
    await sleep(5);
    this.running -= 1;
    return this.results.shift() ?? 0;
  }

  async flush(): Promise<void> {}
}

const quietLoop = (step: RelayStep, concurrency: number): RelayLoop =>
  new RelayLoop(step, { pollMs: 60_000, minBackoffMs: 1, maxBackoffMs: 1, concurrency });

describe('RelayLoop', () => {
  it('starts one step for a burst of wake-ups, not one per worker', async () => {
    const step = new CountingStep();
    const loop = quietLoop(step, 4);
    loop.start();
    await sleep(30);
    // Each worker looked once at start.
    expect(step.executions).to.equal(4);
    for (let i = 0; i < 10; i += 1) loop.wake();
    await sleep(30);
    expect(step.executions).to.equal(5);
    await loop.stop();
  });

  it('folds the wake-ups that come while every worker is busy into one more step', async () => {
    const step = new CountingStep();
    const loop = quietLoop(step, 1);
    loop.start();
    // The first step is under way.
    for (let i = 0; i < 5; i += 1) {
      loop.wake();
      await Promise.resolve();
      await Promise.resolve();
    }
    await sleep(40);
    expect(step.executions).to.equal(2);
    await loop.stop();
  });

  it('goes on at once after a full batch and calls in another worker, until a batch is short', async () => {
    const step = new CountingStep();
    const loop = quietLoop(step, 4);
    loop.start();
    await sleep(30);
    step.executions = 0;
    step.mostAtOnce = 0;
    step.results.push(10, 10, 10, 10, 3);
    loop.wake();
    await sleep(60);
    expect(step.mostAtOnce).to.be.greaterThan(1);
    expect(step.results).to.deep.equal([]);
    // Five steps published; the workers called in then found nothing and went back to sleep.
    expect(step.executions).to.be.within(5, 8);
    const settled = step.executions;
    await sleep(30);
    expect(step.executions).to.equal(settled);
    await loop.stop();
  });
});
