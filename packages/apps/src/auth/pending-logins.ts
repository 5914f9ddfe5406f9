import type { PendingLogin } from './relying-party.js';

/** How long a browser may take at the provider's sign-in page. */
export const LOGIN_TTL_SECONDS = 600;

/**
 * Sign-ins in progress, by their `state`, each taken at most once and for ten minutes; at most
 * `capacity` (the oldest goes first), so a flood of `/session/login` costs bounded memory. In
 * memory like the sessions: a sign-in spanning a gateway restart starts again.
 */
export class PendingLogins {
  private readonly pending = new Map<string, { login: PendingLogin; until: number }>();

  constructor(
    private readonly capacity = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  add(login: PendingLogin): void {
    const now = this.now();
    for (const [state, held] of this.pending) {
      if (held.until > now && this.pending.size < this.capacity) break;
      this.pending.delete(state);
    }
    this.pending.set(login.state, { login, until: now + LOGIN_TTL_SECONDS * 1000 });
  }

  /** The sign-in started with `state`, removed so that its answer counts once. */
  take(state: string): PendingLogin | undefined {
    const held = this.pending.get(state);
    this.pending.delete(state);
    return held && held.until > this.now() ? held.login : undefined;
  }
}
