import { expect } from 'chai';
import { Batcher } from './batcher.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('Batcher', () => {
  it('starts an item alone while a slot is free and groups what arrives while every slot is busy', async () => {
    const batches: number[][] = [];
    const batcher = new Batcher<number>(
      async (items) => {
        batches.push(items);
        await sleep(20);
      },
      { maxSize: 3, concurrency: 2 },
    );
    await Promise.all(Array.from({ length: 8 }, (_, i) => batcher.add(i)));
    expect(batches).to.deep.equal([[0], [1], [2, 3, 4], [5, 6, 7]]);
  });

  it('with `gather`, starts a free slot once the items that came with the first have arrived', async () => {
    const batches: number[][] = [];
    const batcher = new Batcher<number>(
      async (items) => {
        batches.push(items);
        await sleep(20);
      },
      { maxSize: 3, concurrency: 1, gather: (start) => setImmediate(start) },
    );
    const first = [0, 1, 2, 3].map((i) => batcher.add(i)); // in one turn
    await sleep(5);
    const later = [4, 5].map((i) => batcher.add(i)); // while the slot is busy
    await Promise.all([...first, ...later]);
    await batcher.add(6); // alone, on a quiet system
    expect(batches).to.deep.equal([[0, 1, 2], [3, 4, 5], [6]]);
  });

  it('resolves each item once the batch that took it has finished, even when that batch failed', async () => {
    const finished: number[] = [];
    const batcher = new Batcher<number>(
      async (items) => {
        await sleep(10);
        finished.push(...items);
        if (items.includes(1)) throw new Error('a failed batch');
      },
      { maxSize: 10, concurrency: 1 },
    );
    await batcher.add(0);
    await Promise.all([batcher.add(1), batcher.add(2)]);
    expect(finished).to.deep.equal([0, 1, 2]);
  });
});
