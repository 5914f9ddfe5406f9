import { randomBytes } from 'node:crypto';

/** A browser's signed-in session at the gateway: the token never leaves the server. */
export interface Session {
  readonly userId: string;
  readonly accessToken: string;
  readonly expiresAt: Date;
  /** What the page sends back in `X-CSRF-Token` on every write. */
  readonly csrfToken: string;
}

/** Where the gateway keeps sessions, by their random id (the `gozon_session` cookie). */
export interface SessionStore {
  /** Keeps `session` under a new random id, and returns the id. */
  create(session: Session): string;
  /** The live session of `id`; an expired or unknown one is undefined. */
  get(id: string): Session | undefined;
  /** Ends the session of `id`, if any. */
  delete(id: string): void;
}

/** A random 256-bit value, URL-safe: session ids and CSRF tokens. */
export const randomToken = (): string => randomBytes(32).toString('base64url');

const SWEEP_EVERY_MS = 60_000;

/**
 * Sessions in this process's memory, at most `capacity` (the oldest goes first), expired ones swept
 * at most once a minute as new ones arrive. A gateway restart therefore signs everyone out, and
 * several gateway instances behind one address would need a shared store (e.g. Postgres or Redis)
 * behind the same interface, which is not built.
 */
export class MemorySessionStore implements SessionStore {
  // A Map iterates in insertion order, so its first key is the oldest session.
  private readonly sessions = new Map<string, Session>();
  private lastSweep = 0;

  constructor(
    private readonly capacity = 100_000,
    private readonly now: () => number = Date.now,
  ) {}

  create(session: Session): string {
    this.sweep();
    while (this.sessions.size >= this.capacity) {
      const oldest = this.sessions.keys().next().value;
      if (oldest === undefined) break;
      this.sessions.delete(oldest);
    }
    const id = randomToken();
    this.sessions.set(id, session);
    return id;
  }

  get(id: string): Session | undefined {
    const session = this.sessions.get(id);
    if (session && session.expiresAt.getTime() <= this.now()) {
      this.sessions.delete(id);
      return undefined;
    }
    return session;
  }

  delete(id: string): void {
    this.sessions.delete(id);
  }

  get size(): number {
    return this.sessions.size;
  }

  private sweep(): void {
    const now = this.now();
    if (now - this.lastSweep < SWEEP_EVERY_MS) return;
    this.lastSweep = now;
    for (const [id, session] of this.sessions) {
      if (session.expiresAt.getTime() <= now) this.sessions.delete(id);
    }
  }
}
