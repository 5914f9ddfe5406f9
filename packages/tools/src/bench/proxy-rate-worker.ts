import { parentPort, workerData } from 'node:worker_threads';
import { installTracing } from '@gozon/apps/internals';
import { rawProxyRate } from './raw-limits.js';

// Tracing as `gozon gateway` installs it (propagator and span ids, no active context), in this thread
// alone, so the rest of the benchmark's process does not pay for it.
installTracing('gozon-gateway', {}, false);
const { seconds, concurrency } = workerData as { seconds: number; concurrency: number };
parentPort?.postMessage(await rawProxyRate(seconds, concurrency));
