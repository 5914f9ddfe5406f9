// The bench's gateway figure alone, repeated: GoZon's gateway against the bare keep-alive koa-proxies
// proxy, each run in its own worker thread exactly as `npm run bench` measures it.
//
//   npm run proxy-ratio -- [--runs 5] [--seconds 2] [--concurrency 16]
//
// `--profile gateway|proxy --out FILE.cpuprofile` instead loads one of them alone, in this thread
// with tracing installed as `gozon gateway` has it: a second's warm-up, then `--seconds` under the
// CPU profiler (start-up and warm-up left out), and prints the requests answered while profiled.
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { installTracing } from '@gozon/apps/internals';
import { commandLine } from '../support/command-line.js';
import { closedLoop, HttpClient } from './http-client.js';
import { parseProxyRatioArgs, PROXY_RATIO_USAGE } from './options.js';
import { proxyBenchPath, proxyRatesTraced, startProxyTargets } from './raw-limits.js';

const { runs, seconds, concurrency, profile: profiled } = commandLine(PROXY_RATIO_USAGE, parseProxyRatioArgs);

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};

if (profiled) {
  const { target: profile, out } = profiled;
  installTracing('gozon-gateway', {}, false);
  const targets = await startProxyTargets();
  const client = new HttpClient({ authorization: `Bearer ${targets.token}` });
  const port = profile === 'gateway' ? targets.gatewayPort : targets.proxyPort;
  const hit = async () => (await client.send(`http://127.0.0.1:${port}${proxyBenchPath}`, 'GET')).status === 200;
  await closedLoop(concurrency, 1, hit);
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  const result = await closedLoop(concurrency, seconds, hit);
  const { profile: cpuProfile } = await session.post('Profiler.stop');
  session.disconnect();
  await writeFile(out, JSON.stringify(cpuProfile));
  client.close();
  await targets.close();
  console.log(
    `${profile}: ${result.ok} requests, ${result.perSecond.toFixed(0)} req/s (${result.failed} failed) → ${out}`,
  );
} else {
  const ratios: number[] = [];
  for (let run = 1; run <= runs; run += 1) {
    const rates = await proxyRatesTraced(seconds, concurrency);
    const ratio = rates.gateway / rates.proxied;
    ratios.push(ratio);
    console.log(
      `run ${run}: direct ${rates.direct.toFixed(0)}, bare proxy ${rates.proxied.toFixed(0)}, gateway ${rates.gateway.toFixed(0)} (GOZON_AUTH=none ${rates.gatewayOpen.toFixed(0)}) req/s; ratio ${ratio.toFixed(3)}`,
    );
  }
  console.log(`median ratio ${median(ratios).toFixed(3)} over ${runs} runs`);
}
