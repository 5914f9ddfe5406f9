import { expect } from 'chai';
import { cleanUpAll, endRun, onCleanup, pendingCleanups } from './cleanup.js';
import { scratchName } from './names.js';

describe('testkit: the cleanup registry and scratch names', () => {
  afterEach(() => cleanUpAll());

  it('runs what is registered newest first, each once, and forgets what was unregistered', async () => {
    const ran: string[] = [];
    onCleanup('database a', async () => void ran.push('a'));
    const forget = onCleanup('vhost b', async () => void ran.push('b'));
    onCleanup('process c', async () => void ran.push('c'));
    forget();
    expect(pendingCleanups()).to.deep.equal(['database a', 'process c']);
    await cleanUpAll();
    await cleanUpAll();
    expect(ran).to.deep.equal(['c', 'a']);
    expect(pendingCleanups()).to.deep.equal([]);
  });

  it('goes on past a cleanup that fails, and reports it', async () => {
    const ran: string[] = [];
    const reported: string[] = [];
    onCleanup('database a', async () => void ran.push('a'));
    onCleanup('vhost b', async () => {
      throw new Error('broker gone');
    });
    await cleanUpAll((line) => reported.push(line));
    expect(ran).to.deep.equal(['a']);
    expect(reported).to.deep.equal(['could not clean up vhost b: broker gone']);
  });

  it('cleans up what is registered while a cleanup is under way, and, once the run ends, at once', async () => {
    const ran: string[] = [];
    onCleanup('database a', async () => {
      ran.push('a');
      // A start-up still under way spawns a process while the database is being dropped.
      onCleanup('process late', async () => void ran.push('late'));
    });
    const ending = endRun();
    onCleanup('process later', async () => void ran.push('later'));
    await ending;
    await new Promise((resolve) => setImmediate(resolve));
    expect(ran).to.have.members(['a', 'late', 'later']);
    expect(pendingCleanups()).to.deep.equal([]);
  });

  it('ends the run only once a cleanup registered meanwhile is done, not when its own are', async () => {
    const ran: string[] = [];
    onCleanup('database a', async () => {
      // A start-up under way is failing: it deletes its vhost itself, which registers it anew.
      setTimeout(() => {
        onCleanup('vhost slow', async () => {
          await new Promise((resolve) => setTimeout(resolve, 50));
          ran.push('slow');
        });
      }, 0);
      await new Promise((resolve) => setTimeout(resolve, 5));
      ran.push('a');
    });
    await endRun();
    expect(ran).to.deep.equal(['a', 'slow']);
    expect(pendingCleanups()).to.deep.equal([]);
  });

  it('names scratch resources under gozon_test, or GOZON_TEST_PREFIX when it is a lowercase SQL name', () => {
    const saved = process.env['GOZON_TEST_PREFIX'];
    try {
      delete process.env['GOZON_TEST_PREFIX'];
      expect(scratchName()).to.match(/^gozon_test_[0-9a-f]{12}$/);
      expect(scratchName('orders')).to.match(/^gozon_test_orders_[0-9a-f]{12}$/);
      process.env['GOZON_TEST_PREFIX'] = 'run_7';
      expect(scratchName()).to.match(/^run_7_[0-9a-f]{12}$/);
      process.env['GOZON_TEST_PREFIX'] = 'x; DROP DATABASE postgres';
      expect(() => scratchName()).to.throw(/GOZON_TEST_PREFIX must be a lowercase SQL name/);
    } finally {
      if (saved === undefined) delete process.env['GOZON_TEST_PREFIX'];
      else process.env['GOZON_TEST_PREFIX'] = saved;
    }
  });
});
