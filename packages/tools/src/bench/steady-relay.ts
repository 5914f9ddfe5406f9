// The bench's steady-state relay figure alone, for iterating on the relay's quiet path:
//
//   node packages/tools/dist/bench/steady-relay.js [--mode relay|commit] [--rate 200] [--seconds 20] [--json]
//
// A fresh scratch database and vhost each run, dropped at the end (and on Ctrl-C). Fails (exit
// code 1) when a message is lost or arrives twice.
import { cleanUpOnSignals } from '@gozon/testkit';
import { commandLine } from '../support/command-line.js';
import { parseSteadyRelayArgs, STEADY_RELAY_USAGE } from './options.js';
import { steadyRelayFailures, steadyRelayTable } from './report.js';
import { measureSteadyRelay } from './steady-relay-run.js';

const { mode, rate, seconds, json } = commandLine(STEADY_RELAY_USAGE, parseSteadyRelayArgs);
cleanUpOnSignals();

process.stderr.write(`== steady relay, mode ${mode}: ${rate} msg/s for ${seconds} s\n`);
const result = await measureSteadyRelay({ mode, rate, seconds });
console.log(json ? JSON.stringify(result, null, 2) : steadyRelayTable([result]).join('\n'));
const failures = steadyRelayFailures(result);
if (failures.length > 0) {
  process.stderr.write(`steady-relay ${mode} FAILED: ${failures.join('; ')}\n`);
  process.exitCode = 1;
}
