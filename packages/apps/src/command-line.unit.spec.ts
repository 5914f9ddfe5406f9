import { expect } from 'chai';
import { runToken } from './auth/token-command.js';
import { UsageError } from './command-line.js';
import { readConfig } from './config.js';
import { parseDlq } from './dlq.js';
import { parseGozon } from './gozon-args.js';

const refusal = (parse: () => unknown): string => {
  try {
    parse();
  } catch (err) {
    expect(err).to.be.instanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error('expected the command line to be refused');
};

describe('command lines: gozon, gozon dlq and gozon token, parsed strictly', () => {
  it('reads a part to run, and --help anywhere it is asked for', () => {
    expect(parseGozon(['orders'])).to.deep.equal({ command: 'orders', rest: [] });
    expect(parseGozon(['dlq', 'list'])).to.deep.equal({ command: 'dlq', rest: ['list'] });
    expect(parseGozon(['--help'])).to.equal('help');
    expect(parseGozon(['-h'])).to.equal('help');
    expect(parseGozon(['gateway', '--help'])).to.equal('help');
  });

  it('refuses a missing or unknown command, unknown flags and stray arguments, in one line', () => {
    expect(refusal(() => parseGozon([]))).to.match(/^gozon: which part to run is missing/);
    expect(refusal(() => parseGozon(['ordrs']))).to.match(/^gozon: unknown command ordrs/);
    expect(refusal(() => parseGozon(['--verbose']))).to.equal("gozon: Unknown option '--verbose' (see --help)");
    expect(refusal(() => parseGozon(['orders', '--port', '1']))).to.equal(
      "gozon orders: Unknown option '--port' (see --help)",
    );
    expect(refusal(() => parseGozon(['all', 'now']))).to.equal("gozon all: Unexpected argument 'now' (see --help)");
    for (const args of [[], ['ordrs'], ['--verbose'], ['orders', '--port']]) {
      expect(refusal(() => parseGozon(args))).to.not.include('\n');
    }
  });

  it('reads what gozon dlq is asked to do', () => {
    expect(parseDlq(['list'])).to.deep.equal({ action: 'list' });
    expect(parseDlq(['show', 'a', 'b'])).to.deep.equal({ action: 'show', ids: ['a', 'b'] });
    expect(parseDlq(['replay', '--all'])).to.deep.equal({ action: 'replay', ids: [], all: true });
    expect(parseDlq(['replay', 'a'])).to.deep.equal({ action: 'replay', ids: ['a'], all: false });
    expect(parseDlq(['--help'])).to.deep.equal({ action: 'help' });
  });

  it('refuses a gozon dlq command line it cannot carry out', () => {
    expect(refusal(() => parseDlq([]))).to.match(/^gozon dlq: what to do is missing/);
    expect(refusal(() => parseDlq(['show']))).to.match(/^gozon dlq: cannot show;/);
    expect(refusal(() => parseDlq(['replay']))).to.match(/^gozon dlq: cannot replay;/);
    expect(refusal(() => parseDlq(['list', 'x']))).to.match(/^gozon dlq: cannot list x;/);
    expect(refusal(() => parseDlq(['list', '--all']))).to.match(/^gozon dlq: --all goes with replay only/);
    expect(refusal(() => parseDlq(['replay', '--al']))).to.equal("gozon dlq: Unknown option '--al' (see --help)");
    expect(refusal(() => parseDlq(['purge']))).to.match(/^gozon dlq: cannot purge;/);
  });

  it('gozon token: --help on stdout, refusals in one line on stderr with exit code 2', async () => {
    const config = readConfig({});
    const run = async (args: string[]) => {
      const out: string[] = [];
      const err: string[] = [];
      const code = await runToken(
        args,
        config,
        (t) => out.push(t),
        (t) => err.push(t),
      );
      return { code, out, err };
    };
    expect(await run(['--help'])).to.deep.equal({ code: 0, out: ['usage: gozon token <user_id> [--admin]'], err: [] });
    for (const args of [['alice', '--admn'], [], ['alice', 'bob'], ['--admin']]) {
      const { code, out, err } = await run(args);
      expect(code, args.join(' ')).to.equal(2);
      expect(out).to.deep.equal([]);
      expect(err).to.have.length(1);
      expect(err[0])
        .to.match(/^gozon token: /)
        .and.not.include('\n');
    }
  });
});
