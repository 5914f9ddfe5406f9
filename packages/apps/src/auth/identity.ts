import type { Middleware } from 'koa';
import type { Logger } from 'pino';
import type { AuthConfig } from '../config.js';
import { authenticate } from './bearer.js';
import { TokenVerifier } from './verifier.js';

/** How one process proves who is asking: its token check, and a way to stop its warm-up. */
export interface Identity {
  readonly authenticate: Middleware;
  readonly verifier: TokenVerifier | null;
  stop(): void;
}

const RETRY_MS = 2_000;

/**
 * The token check of one part (`name`): a verifier of the configured issuer, whose keys are
 * fetched at start and again every 2 s until they come (requests meanwhile get 503), or none
 * with `GOZON_AUTH=none`.
 */
export const identityFor = (auth: AuthConfig, name: string, log: Logger): Identity => {
  // Without identity the process has said so once at start (see `warnIfOpen`).
  if (auth.mode === 'none') {
    return { authenticate: authenticate(null), verifier: null, stop: () => undefined };
  }
  const verifier = new TokenVerifier({
    issuer: auth.issuer,
    audience: auth.audience,
    userClaim: auth.userClaim,
    jwksUrl: auth.jwksUrl,
  });
  let timer: NodeJS.Timeout | undefined;
  let attempts = 0;
  const warmUp = (): void => {
    verifier.ready().then(
      () => log.info(`${name}: identity: tokens of ${auth.issuer} for audience ${auth.audience}; keys loaded`),
      (err: unknown) => {
        attempts += 1;
        // The built-in provider starts with the gateway, after the services: the first misses are expected.
        if (attempts === 5 || attempts % 30 === 0) {
          log.warn({ err: String(err) }, `${name}: identity: the issuer's keys are not reachable yet; retrying`);
        }
        timer = setTimeout(warmUp, RETRY_MS);
        timer.unref();
      },
    );
  };
  warmUp();
  const refused = (reason: string): void => log.debug({ reason }, `${name}: access token refused`);
  return { authenticate: authenticate(verifier, refused), verifier, stop: () => clearTimeout(timer) };
};

/** Every process without identity says so at start, whatever it runs. */
export const warnIfOpen = (auth: AuthConfig, log: Logger): void => {
  if (auth.mode === 'none') {
    log.warn('GOZON_AUTH=none: no identity, any caller may act for any user; for a trusted network only');
  }
};
