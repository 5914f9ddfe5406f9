import pg from 'pg';
import { DEFAULT_OUTBOX_CHANNEL } from './outbox.js';

export interface OutboxListenerOptions {
  /** The channel appends notify on. */
  readonly channel?: string;
  /** First wait before reconnecting after the connection dropped; it doubles up to the max. */
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Told of each connection failure; the listener goes on trying. */
  readonly onError?: (err: unknown) => void;
}

/**
 * Calls `onNotify` (a relay loop's `wake`) when a transaction that appended to the outbox
 * commits, over a dedicated connection that LISTENs. It is an optimisation only: while it is
 * down relays still poll, and after every (re)connect it calls `onNotify` once to catch up on
 * whatever committed while nobody listened.
 */
export class PgOutboxListener {
  private readonly channel: string;
  private readonly minBackoffMs: number;
  private readonly maxBackoffMs: number;
  private backoffMs: number;
  private client: pg.Client | null = null;
  private connecting: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private closed = true;

  constructor(
    private readonly connection: string | pg.ClientConfig,
    private readonly onNotify: () => void,
    private readonly options: OutboxListenerOptions = {},
  ) {
    this.channel = options.channel ?? DEFAULT_OUTBOX_CHANNEL;
    this.minBackoffMs = options.minBackoffMs ?? 100;
    this.maxBackoffMs = options.maxBackoffMs ?? 10_000;
    this.backoffMs = this.minBackoffMs;
  }

  /** True while the connection is up and listening. */
  get listening(): boolean {
    return this.client !== null;
  }

  /** Connects and listens; if that fails it keeps retrying in the background and resolves anyway. */
  async start(): Promise<void> {
    if (!this.closed) return;
    this.closed = false;
    this.connecting = this.connect();
    await this.connecting;
  }

  /** Stops listening and retrying, and closes the connection. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.connecting;
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    const client = new pg.Client(this.connection);
    let dropped = false;
    const drop = (err?: unknown): void => {
      if (dropped) return;
      dropped = true;
      if (this.client === client) this.client = null;
      client.end().catch(() => undefined);
      if (this.closed) return;
      this.options.onError?.(err ?? new Error('the outbox listener connection ended'));
      this.scheduleReconnect();
    };
    // Listeners stay attached for the client's life, so a late error event can never go unhandled.
    client.on('error', drop);
    client.on('end', () => drop());
    client.on('notification', (message) => {
      if (message.channel === this.channel) this.onNotify();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${client.escapeIdentifier(this.channel)}`);
    } catch (err) {
      drop(err);
      return;
    }
    if (this.closed || dropped) {
      dropped = true;
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.backoffMs = this.minBackoffMs;
    this.onNotify();
  }

  private scheduleReconnect(): void {
    const wait = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.maxBackoffMs);
    this.timer = setTimeout(() => {
      this.timer = null;
      if (!this.closed) this.connecting = this.connect();
    }, wait);
    this.timer.unref();
  }
}
