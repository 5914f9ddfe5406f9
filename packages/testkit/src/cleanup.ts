// What a run has made on shared servers (databases, vhosts, broker users, child processes) is
// registered here the moment it exists, so that a run stopped half-way by Ctrl-C or SIGTERM can
// still take it all down: otherwise every interrupted bench left its databases and vhost behind.

type Cleanup = () => Promise<unknown>;

const pending = new Map<symbol, { readonly what: string; readonly cleanup: Cleanup }>();

/** Set once the run is ending: what is registered from then on is cleaned up at once. */
let ending = false;

/**
 * Registers `cleanup` for `what` and returns the function that unregisters it: the owner calls
 * that once it has cleaned up by itself, in the ordinary way.
 */
export const onCleanup = (what: string, cleanup: Cleanup): (() => void) => {
  const key = Symbol(what);
  pending.set(key, { what, cleanup });
  // A run stopped half-way may still be starting a process or making a database: it must not
  // outlive the cleanup that is already under way.
  if (ending) void cleanUpAll();
  return () => pending.delete(key);
};

/** What is still registered, oldest first (for messages and tests). */
export const pendingCleanups = (): string[] => [...pending.values()].map((entry) => entry.what);

/** The one pass under way over what is registered, if any. */
let draining: Promise<void> | undefined;

/**
 * Runs every registered cleanup, newest first (processes made last use resources made first),
 * each once, one at a time, until none is left (what is registered meanwhile included); a failing
 * one is reported and does not stop the others. A call while a pass is under way joins that pass,
 * so whoever waits for it waits for every cleanup, not just those it started itself.
 */
export const cleanUpAll = (report: (line: string) => void = () => undefined): Promise<void> => {
  if (draining) return draining;
  const pass = (async () => {
    for (let newest = [...pending.entries()].at(-1); newest; newest = [...pending.entries()].at(-1)) {
      const [key, { what, cleanup }] = newest;
      pending.delete(key);
      try {
        await cleanup();
      } catch (err) {
        report(`could not clean up ${what}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  })();
  draining = pass;
  // Cleared after it is set: a pass with nothing to do has already ended by now.
  void pass.finally(() => {
    if (draining === pass) draining = undefined;
  });
  return pass;
};

/**
 * Ends the run: cleans up everything registered, and from now on whatever is registered later
 * (a process a start-up still under way spawns) is cleaned up as soon as it is. Resolves only
 * once nothing is registered and no cleanup is under way, so that exiting then leaves nothing.
 */
export const endRun = async (report: (line: string) => void = () => undefined): Promise<void> => {
  ending = true;
  while (pending.size > 0 || draining) await (draining ?? cleanUpAll(report));
};

const EXIT_CODES: Record<'SIGINT' | 'SIGTERM', number> = { SIGINT: 130, SIGTERM: 143 };

/** Set once SIGINT or SIGTERM started the cleanup that ends with the process (`cleanUpOnSignals`). */
let signalled = false;

/** Whether a signal is ending the run: its cleanup is under way and will exit the process. */
export const endingBySignal = (): boolean => signalled;

/**
 * Exits with `code` — unless a signal is ending the run. Then the run's own failure is most likely
 * the cleanup taking its parts away, and exiting now would cut that cleanup short: the signal's
 * handler exits (130 or 143) once everything is dropped.
 */
export const exitUnlessSignalled = (code: number): void => {
  if (!signalled) process.exit(code);
};

/**
 * Makes SIGINT and SIGTERM clean up what is registered, then exit with 130 or 143. A second
 * signal while that runs exits at once: whoever insists knows what they leave behind.
 */
export const cleanUpOnSignals = (
  report: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): void => {
  let stopping = false;
  const onSignal = (signal: 'SIGINT' | 'SIGTERM'): void => {
    const code = EXIT_CODES[signal];
    if (stopping) process.exit(code);
    stopping = true;
    signalled = true;
    // Dropping a database ends the connections still open on it, whose owners may not listen for
    // that: the run is ending anyway, so such an error is reported, not allowed to stop the cleanup.
    process.on('uncaughtException', (err) => report(`while stopping: ${err.message}`));
    report(`${signal}: dropping what this run made (${pending.size} item(s)), then stopping`);
    void endRun(report).finally(() => process.exit(code));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
};
