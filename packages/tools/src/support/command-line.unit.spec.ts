import { expect } from 'chai';
import { UsageError } from '@gozon/apps/internals';
import { parseMessageCount } from './command-line.js';

describe('measurement scripts command line', () => {
  it('reads how many messages, 20,000 by default, and --help', () => {
    expect(parseMessageCount('measure-relay', [])).to.equal(20_000);
    expect(parseMessageCount('measure-relay', ['500'])).to.equal(500);
    expect(parseMessageCount('measure-relay', ['--help'])).to.equal('help');
  });

  it('refuses an unknown flag, a count that is not a positive number, and a second count', () => {
    for (const args of [['--count', '5'], ['12a'], ['0'], ['5', '6']]) {
      expect(() => parseMessageCount('measure-relay', args), args.join(' '))
        .to.throw(UsageError)
        .with.property('message')
        .that.matches(/^measure-relay: /);
    }
  });
});
