import { expect } from 'chai';
import { UsageError } from '@gozon/apps/internals';
import { parseBenchArgs, parseProxyRatioArgs, parseSteadyRelayArgs } from './options.js';

const refusal = (parse: () => unknown): string => {
  try {
    parse();
  } catch (err) {
    expect(err).to.be.instanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error('expected the command line to be refused');
};

describe('bench, proxy-ratio and steady-relay command lines', () => {
  it('reads the bench options and their defaults', () => {
    expect(parseBenchArgs([])).to.deep.equal({
      quick: false,
      outDir: 'docs/bench',
      pipeOutput: false,
      profDir: undefined,
    });
    expect(parseBenchArgs(['--quick'])).to.include({ quick: true, outDir: 'bench-results' });
    expect(parseBenchArgs(['--quick', '--out', '/tmp/x', '--pipe-output', '--cpu-prof', 'p'])).to.deep.equal({
      quick: true,
      outDir: '/tmp/x',
      pipeOutput: true,
      profDir: 'p',
    });
    expect(parseBenchArgs(['--out=/tmp/y'])).to.include({ outDir: '/tmp/y' });
    expect(parseBenchArgs(['--help'])).to.equal('help');
  });

  it('runs N instances into a directory of their own, never over docs/bench', () => {
    expect(parseBenchArgs(['--instances', '2'])).to.deep.equal({
      quick: false,
      outDir: 'bench-results/instances-2',
      pipeOutput: false,
      profDir: undefined,
      instances: 2,
    });
    expect(parseBenchArgs(['--instances', '1', '--out', '/tmp/i'])).to.include({ instances: 1, outDir: '/tmp/i' });
    expect(refusal(() => parseBenchArgs(['--instances', '0']))).to.match(/--instances must be a positive number/);
    expect(refusal(() => parseBenchArgs(['--instances', '2.5']))).to.match(/--instances must be a whole number/);
  });

  it('refuses a typo instead of starting a full run over docs/bench', () => {
    expect(refusal(() => parseBenchArgs(['--quik']))).to.equal("bench: Unknown option '--quik' (see --help)");
    expect(refusal(() => parseBenchArgs(['quick']))).to.match(/^bench: Unexpected argument 'quick'/);
  });

  it('refuses --out without its directory, last or before another flag, or empty', () => {
    expect(refusal(() => parseBenchArgs(['--quick', '--out']))).to.equal(
      "bench: Option '--out <value>' argument missing (see --help)",
    );
    expect(refusal(() => parseBenchArgs(['--out', '--quick']))).to.match(
      /^bench: Option '--out' argument is ambiguous/,
    );
    expect(refusal(() => parseBenchArgs(['--out=']))).to.equal('bench: --out needs a value');
    expect(refusal(() => parseBenchArgs(['--cpu-prof']))).to.match(
      /^bench: Option '--cpu-prof <value>' argument missing/,
    );
  });

  it('reads proxy-ratio options and refuses what it does not know', () => {
    expect(parseProxyRatioArgs([])).to.deep.equal({
      runs: 5,
      seconds: 2,
      concurrency: 16,
      profile: undefined,
    });
    expect(parseProxyRatioArgs(['--profile', 'gateway'])).to.deep.include({
      profile: { target: 'gateway', out: 'gateway.cpuprofile' },
    });
    expect(parseProxyRatioArgs(['--profile', 'proxy', '--out', 'p.cpuprofile'])).to.deep.include({
      profile: { target: 'proxy', out: 'p.cpuprofile' },
    });
    expect(parseProxyRatioArgs(['--help'])).to.equal('help');
    expect(refusal(() => parseProxyRatioArgs(['--run', '3']))).to.equal(
      "proxy-ratio: Unknown option '--run' (see --help)",
    );
    expect(refusal(() => parseProxyRatioArgs(['--runs']))).to.match(/argument missing/);
    expect(refusal(() => parseProxyRatioArgs(['--runs', 'many']))).to.match(/--runs must be a positive number/);
    expect(refusal(() => parseProxyRatioArgs(['--profile', 'both']))).to.match(/--profile is gateway or proxy/);
    expect(refusal(() => parseProxyRatioArgs(['--out', 'f']))).to.match(/--out goes with --profile only/);
  });

  it('reads the steady-relay options and their defaults: the relay alone at 200 msg/s for 20 s', () => {
    expect(parseSteadyRelayArgs([])).to.deep.equal({ mode: 'relay', rate: 200, seconds: 20, json: false });
    expect(parseSteadyRelayArgs(['--mode', 'commit', '--rate', '50', '--seconds=2.5', '--json'])).to.deep.equal({
      mode: 'commit',
      rate: 50,
      seconds: 2.5,
      json: true,
    });
    expect(parseSteadyRelayArgs(['-h'])).to.equal('help');
  });

  it('refuses a steady-relay mode, rate or duration it cannot run, and anything it does not know', () => {
    expect(refusal(() => parseSteadyRelayArgs(['--mode', 'both']))).to.equal(
      'steady-relay: --mode is relay or commit (got both)',
    );
    expect(refusal(() => parseSteadyRelayArgs(['--rate', '0']))).to.equal(
      'steady-relay: --rate must be a positive number (got 0)',
    );
    expect(refusal(() => parseSteadyRelayArgs(['--seconds', 'ten']))).to.match(/--seconds must be a positive number/);
    expect(refusal(() => parseSteadyRelayArgs(['--seconds']))).to.match(/^steady-relay: .*argument missing/);
    expect(refusal(() => parseSteadyRelayArgs(['--quick']))).to.equal(
      "steady-relay: Unknown option '--quick' (see --help)",
    );
    expect(refusal(() => parseSteadyRelayArgs(['relay']))).to.match(/^steady-relay: Unexpected argument 'relay'/);
  });
});
