import type { Context } from 'koa';

/**
 * Requests one gateway has in flight to one upstream, sent or waiting for a connection of its
 * agent (256 per upstream): twice what it can send at once. A service slower than its load then
 * makes the gateway answer `503` at once instead of queueing without end, each waiting request
 * holding a client's socket and memory while its answer grows stale.
 */
export const MAX_IN_FLIGHT_PER_UPSTREAM = 512;
/** What a client is told to wait when an upstream is busy, in seconds. */
const RETRY_AFTER_SECONDS = 1;

/** A bound on the requests in flight to one upstream. */
export class UpstreamQueue {
  private inFlight = 0;

  constructor(
    /** The upstream's name, as a client may read it in the error. */
    private readonly name: string,
    private readonly max: number = MAX_IN_FLIGHT_PER_UPSTREAM,
  ) {}

  /** Runs `send` if the upstream has room, else answers `503 upstream_busy` with `Retry-After`. */
  async through(ctx: Context, send: () => Promise<void>): Promise<void> {
    if (this.inFlight >= this.max) {
      ctx.status = 503;
      ctx.set('Retry-After', String(RETRY_AFTER_SECONDS));
      ctx.body = {
        error: {
          code: 'upstream_busy',
          message: `the ${this.name} service has too many requests waiting; try again shortly`,
        },
      };
      return;
    }
    this.inFlight += 1;
    try {
      await send();
    } finally {
      this.inFlight -= 1;
    }
  }
}
