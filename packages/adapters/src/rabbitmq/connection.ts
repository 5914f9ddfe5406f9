import { connect, type ChannelModel } from 'amqplib';
import { coalesceWrites } from './coalesce-writes.js';
import { nodeOrder } from './nodes.js';
import { nodesOf, redactUrl, scrubError } from './redact.js';
import { declareTopology, QueueMismatch, type QueueType, type TopologyOptions } from './topology.js';

/** What the connection tells its owner; never carries the password. */
export type RabbitEvent =
  | { readonly type: 'connected'; readonly url: string; readonly node: number }
  | { readonly type: 'disconnected'; readonly error: string }
  | { readonly type: 'reconnect-failed'; readonly attempt: number; readonly retryInMs: number; readonly error: string }
  | { readonly type: 'error'; readonly source: string; readonly error: string };

export interface RabbitConnectionOptions {
  /**
   * `AMQP_URL`; the vhost is its path. Several nodes of one cluster may be listed, comma-separated,
   * each with its own credentials: the connection goes to the first that answers.
   */
  readonly url: string;
  /** Declared on every (re)connect, before consumers start again. */
  readonly topology?: TopologyOptions | undefined;
  /** First wait before reconnecting; it doubles up to `maxBackoffMs`. */
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Told of connects, drops and failures (for logs). */
  readonly onEvent?: (event: RabbitEvent) => void;
  /**
   * How long one recovery after a drop (a node connected, the topology declared, every consumer
   * and publisher attached again) may take before it is abandoned and begun again (default 30 s).
   */
  readonly recoveryTimeoutMs?: number;
  /**
   * How long a node may take to answer the topology's declaration before the next node is tried
   * (default 10 s). A declaration takes milliseconds, creating quorum queues somewhat more; on a
   * cluster one was seen to get no answer at all just after the broker closed every connection,
   * while a fresh connection, the next try, went through.
   */
  readonly declareTimeoutMs?: number;
}

/** Work to redo on every new connection: channels, consumers. */
export type ConnectHook = (model: ChannelModel) => Promise<void>;

/** How long one node may take to accept a connection before the next is tried. */
const CONNECT_TIMEOUT_MS = 5_000;

/** How long one node may take to answer the topology's declaration by default (`declareTimeoutMs`). */
const DECLARE_TIMEOUT_MS = 10_000;

/** How long a close may wait for the broker's answer before the socket is simply dropped. */
const CLOSE_WAIT_MS = 1_000;

/**
 * Closes `model` without waiting on a broker that does not answer: after `CLOSE_WAIT_MS` the socket
 * is destroyed, which fails every call still waiting on it.
 */
const closeSoon = async (model: ChannelModel): Promise<void> => {
  let timer: NodeJS.Timeout | undefined;
  const waited = new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_WAIT_MS)));
  await Promise.race([model.close().catch(() => undefined), waited]);
  clearTimeout(timer);
  (model as unknown as { connection?: { stream?: { destroy?: () => void } } }).connection?.stream?.destroy?.();
};

/** `work`, or a rejection saying `what` once `ms` have passed without it settling. */
const within = async <T>(ms: number, what: string, work: () => Promise<T>): Promise<T> => {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work(), late]);
  } finally {
    clearTimeout(timer);
  }
};

/** How long one recovery after a drop may take by default (see `recoveryTimeoutMs`). */
const RECOVERY_TIMEOUT_MS = 30_000;

/**
 * One AMQP connection that heals itself: after the broker drops it, reconnects with backoff (to
 * another node of the list first, see `nodeOrder`), re-declares the topology and runs every
 * registered hook again (which re-creates channels and restarts consumers). The first `open`
 * fails fast, so a misconfigured service says so at start.
 */
export class RabbitConnection {
  private model: ChannelModel | null = null;
  private readonly nodes: string[];
  /** The index in `nodes` of the node connected to, or last connected to. */
  private nodeIndex: number | undefined;
  private readonly hooks = new Set<ConnectHook>();
  /** A connection being set up, not yet `model`: closed if its recovery is abandoned. */
  private opening: ChannelModel | null = null;
  /** Counts recoveries; a connection set up for an abandoned one is not kept. */
  private generation = 0;
  /** What a recovery is doing now, for the line that says it was abandoned. */
  private step = '';
  private closing = false;
  private reconnecting = false;
  private timer: NodeJS.Timeout | null = null;
  private wake: (() => void) | null = null;
  private readonly minBackoffMs: number;
  private readonly maxBackoffMs: number;

  constructor(private readonly options: RabbitConnectionOptions) {
    this.minBackoffMs = options.minBackoffMs ?? 100;
    this.maxBackoffMs = options.maxBackoffMs ?? 5_000;
    this.nodes = nodesOf(options.url);
    if (this.nodes.length === 0) this.nodes = [options.url];
  }

  /** Connects and declares the topology; rejects if no node can be reached now. */
  async open(): Promise<void> {
    if (this.model) return;
    await this.connectOnce();
  }

  /** The node connected to now: its place in the list and its URL without password. */
  get node(): { readonly index: number; readonly url: string } | null {
    if (!this.model || this.nodeIndex === undefined) return null;
    return { index: this.nodeIndex, url: redactUrl(this.nodes[this.nodeIndex] ?? '') };
  }

  /** The queue type the topology declares (and so whether consumers park retries in retry queues). */
  get queueType(): QueueType {
    return this.options.topology?.queueType ?? 'classic';
  }

  /** True while a connection is up. */
  get isOpen(): boolean {
    return this.model !== null;
  }

  /** The live connection; throws when it is down, so callers fail fast instead of waiting. */
  current(): ChannelModel {
    if (!this.model) throw new Error(`RabbitMQ connection is ${this.closing ? 'closed' : 'down'}`);
    return this.model;
  }

  /** Runs `hook` after every reconnect from now on; returns a function that stops that. */
  onReconnect(hook: ConnectHook): () => void {
    this.hooks.add(hook);
    return () => this.hooks.delete(hook);
  }

  /** Reports a failure of something built on this connection, scrubbed of the password. */
  report(source: string, err: unknown): void {
    this.emit({ type: 'error', source, error: scrubError(err, this.options.url) });
  }

  /** Stops reconnecting and closes the connection (and so every channel on it). */
  async close(): Promise<void> {
    this.closing = true;
    if (this.timer) clearTimeout(this.timer);
    this.wake?.();
    const model = this.model;
    this.model = null;
    if (model) await closeSoon(model);
  }

  /** Tries the nodes in turn (see `nodeOrder`); rejects with every node's reason when none took it. */
  private async connectOnce(): Promise<void> {
    const failures: string[] = [];
    for (const index of nodeOrder(this.nodes.length, this.nodeIndex)) {
      const url = this.nodes[index] as string;
      try {
        await this.connectTo(url, index);
        return;
      } catch (err) {
        // The queues exist with other arguments on every node of a cluster: no use trying on.
        if (err instanceof QueueMismatch) throw err;
        if (this.nodes.length === 1) throw err;
        failures.push(`${redactUrl(url)}: ${scrubError(err, url)}`);
        // Told even when the next node takes the connection: a node passed over is worth a line.
        this.emit({ type: 'error', source: `node ${index}`, error: scrubError(err, url) });
      }
    }
    throw new Error(`no RabbitMQ node answered (${failures.join('; ')})`);
  }

  private async connectTo(url: string, index: number): Promise<void> {
    // amqplib leaves Nagle's algorithm on: small publishes, confirms and acks would then wait on
    // delayed ACKs (tens of ms a hop). Messages are sent whole, so send them at once.
    // Frames written together still leave together (see `coalesceWrites`).
    const generation = this.generation;
    this.step = `connecting to node ${index} (${redactUrl(url)})`;
    const model = await connect(url, { noDelay: true, timeout: CONNECT_TIMEOUT_MS });
    this.opening = model;
    coalesceWrites(model);
    model.on('error', (err: Error) => this.report('connection', err));
    try {
      const topology = this.options.topology;
      if (topology) {
        this.step = `declaring the topology on node ${index}`;
        const limitMs = this.options.declareTimeoutMs ?? DECLARE_TIMEOUT_MS;
        await within(limitMs, `declaring the topology on node ${index}`, async () => {
          const channel = await model.createChannel();
          channel.on('error', (err: Error) => this.report('topology', err));
          await declareTopology(channel, topology);
          await channel.close();
        });
      }
    } catch (err) {
      await closeSoon(model);
      throw err;
    } finally {
      if (this.opening === model) this.opening = null;
    }
    if (this.closing) {
      await closeSoon(model);
      return;
    }
    if (generation !== this.generation) {
      await closeSoon(model);
      throw new Error('a recovery that took too long was abandoned');
    }
    model.on('close', (err?: Error) => this.dropped(model, err));
    this.model = model;
    this.nodeIndex = index;
    this.emit({ type: 'connected', url: redactUrl(url), node: index });
  }

  private dropped(model: ChannelModel, err: Error | undefined): void {
    if (this.model !== model) return; // closed by us
    this.model = null;
    this.emit({ type: 'disconnected', error: scrubError(err ?? 'closed by the broker', this.options.url) });
    void this.reconnect();
  }

  private async reconnect(): Promise<void> {
    if (this.reconnecting) return; // the loop running now sees the new drop
    this.reconnecting = true;
    let backoff = this.minBackoffMs;
    try {
      for (let attempt = 1; !this.closing; attempt += 1) {
        await this.sleep(backoff * (0.8 + Math.random() * 0.4));
        if (this.closing) return;
        try {
          if (await this.recoverOnce()) return;
        } catch (err) {
          backoff = Math.min(backoff * 2, this.maxBackoffMs);
          this.emit({
            type: 'reconnect-failed',
            attempt,
            retryInMs: backoff,
            error: scrubError(err, this.options.url),
          });
          // A hook that failed leaves the connection half set up: drop it and start over.
          const model = this.model;
          this.model = null;
          if (model) await closeSoon(model);
        }
      }
    } finally {
      this.reconnecting = false;
    }
  }

  /**
   * Connects and attaches every consumer and publisher again: true once done on a connection that
   * is still up. amqplib waits for the broker's every answer without a bound, and a broker in the
   * middle of a failover may not answer some call, so a recovery that takes longer than
   * `recoveryTimeoutMs` is abandoned: what it opened is closed (which fails its calls still
   * waiting) and it throws, to be begun again.
   */
  private async recoverOnce(): Promise<boolean> {
    const attempt = (async () => {
      await this.connectOnce();
      const model = this.model;
      if (!model) return false;
      this.step = `attaching consumers and publishers on node ${this.nodeIndex ?? 0}`;
      for (const hook of this.hooks) await hook(model);
      return this.model === model; // else it dropped again while hooks ran
    })();
    let timer: NodeJS.Timeout | undefined;
    const limitMs = this.options.recoveryTimeoutMs ?? RECOVERY_TIMEOUT_MS;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`recovery not done in ${limitMs} ms, stuck ${this.step}: abandoned`)),
        limitMs,
      );
    });
    try {
      return await Promise.race([attempt, timeout]);
    } catch (err) {
      this.generation += 1;
      const opening = this.opening;
      this.opening = null;
      if (opening) await closeSoon(opening);
      attempt.catch(() => undefined); // it fails as its connection closes; nobody waits for it
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = () => {
        if (this.timer) clearTimeout(this.timer);
        this.timer = null;
        resolve();
      };
      this.timer = setTimeout(this.wake, ms);
    });
  }

  private emit(event: RabbitEvent): void {
    try {
      this.options.onEvent?.(event);
    } catch {
      // A broken logger must not break the connection.
    }
  }
}
