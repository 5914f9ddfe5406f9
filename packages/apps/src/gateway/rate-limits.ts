import { Redis } from 'ioredis';
import type { Context } from 'koa';
import type { Logger } from 'pino';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';

/** A budget of requests per key (a client address, a user) in a window of time. */
export interface RequestBudget {
  /** Takes one request from `key`'s budget; when it is spent, answers `429` and returns false. */
  take(ctx: Context, key: string): Promise<boolean>;
}

export interface RateLimitSettings {
  /** Requests one client address may send per window (0: no limit). */
  readonly perAddress: number;
  /** Requests one signed-in user may send per window (0: no limit). */
  readonly perUser: number;
  readonly windowSeconds: number;
  /** Shared by every gateway through this Redis; unset, each gateway counts alone, in memory. */
  readonly redisUrl: string | undefined;
  /** Where the counters live in Redis (tests use their own). */
  readonly keyPrefix?: string;
}

/**
 * A Redis round trip longer than this counts as Redis down: the request goes on the memory budget.
 * A second: a busy machine's Redis (or the first command, which waits for the connection) is slower
 * than its usual millisecond, and a budget split among instances by a hiccup is worse than a slow
 * request while Redis struggles.
 */
const REDIS_COMMAND_TIMEOUT_MS = 1_000;

const limited = (ctx: Context, msBeforeNext: number): void => {
  ctx.status = 429;
  ctx.set('Retry-After', String(Math.max(1, Math.ceil(msBeforeNext / 1_000))));
  ctx.body = { error: { code: 'rate_limited', message: 'too many requests; try again after the time in Retry-After' } };
};

const budget = (limiter: RateLimiterAbstract): RequestBudget => ({
  async take(ctx, key) {
    try {
      await limiter.consume(key);
      return true;
    } catch (res) {
      // Only a spent budget is refused; any other failure (the memory insurance has none) lets the request on.
      if (!(res instanceof RateLimiterRes)) return true;
      limited(ctx, res.msBeforeNext);
      return false;
    }
  },
});

/** Logs when Redis goes away and comes back, once each, not on every reconnection attempt. */
const watchRedis = (redis: Redis, log: Logger): void => {
  let down = false;
  redis.on('error', (err: Error) => {
    if (down) return;
    down = true;
    log.warn(
      { err: err.message },
      'rate limits: Redis unreachable; each gateway counts its own budgets in memory until it is back',
    );
  });
  redis.on('ready', () => {
    if (down) log.info('rate limits: Redis is back; budgets are shared again');
    down = false;
  });
};

/**
 * The gateway's request budgets, per client address and per user. With Redis they are shared by
 * every gateway; when Redis cannot answer, a gateway falls back to counting in memory (fail open
 * to a per-instance limit, not to none): a limit is protection, and an outage of it must not turn
 * away every client.
 */
export class GatewayRateLimits {
  private constructor(
    readonly byAddress: RequestBudget | undefined,
    readonly byUser: RequestBudget | undefined,
    private readonly redis: Redis | undefined,
  ) {}

  /**
   * Resolves once Redis answers, or after `timeoutMs`: with no offline queue, a request made before
   * the connection is up counts on the memory budget, so a gateway waits for it before listening.
   */
  async ready(timeoutMs = REDIS_COMMAND_TIMEOUT_MS): Promise<void> {
    const redis = this.redis;
    if (!redis || redis.status === 'ready') return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      redis.once('ready', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  static open(settings: RateLimitSettings, log: Logger): GatewayRateLimits {
    const redis = settings.redisUrl
      ? new Redis(settings.redisUrl, {
          enableOfflineQueue: false,
          commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
          maxRetriesPerRequest: 0,
        })
      : undefined;
    if (redis) watchRedis(redis, log);
    const prefix = settings.keyPrefix ?? 'gozon:rate';
    const limiter = (points: number, name: string): RequestBudget | undefined => {
      if (points === 0) return undefined;
      const options = { points, duration: settings.windowSeconds, keyPrefix: `${prefix}:${name}` };
      const memory = new RateLimiterMemory(options);
      if (!redis) return budget(memory);
      return budget(
        new RateLimiterRedis({
          ...options,
          storeClient: redis,
          rejectIfRedisNotReady: true,
          insuranceLimiter: memory,
          // A key over its budget is refused from memory until its window ends: a flood costs Redis nothing.
          inMemoryBlockOnConsumed: points + 1,
        }),
      );
    };
    return new GatewayRateLimits(limiter(settings.perAddress, 'address'), limiter(settings.perUser, 'user'), redis);
  }

  async close(): Promise<void> {
    if (!this.redis) return;
    await this.redis.quit().catch(() => this.redis?.disconnect());
  }
}
