import { createServer, STATUS_CODES, type RequestListener, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A client has this long to send its request head. Real clients send it in one packet; Node's
 * default (60 s) lets a slow-headers client (Slowloris) hold a connection for a minute.
 */
export const HEADERS_TIMEOUT_MS = 10_000;
/**
 * The whole request, head and body, must arrive within this: a body trickled byte by byte is cut
 * off (Node ≥ 18 closes the connection with 408). The largest body (64 KiB) then needs ≥ 2.2 KiB/s.
 * Node's default is 300 s. It ends when the request is read: a slow answer is not cut off.
 */
export const REQUEST_TIMEOUT_MS = 30_000;
/**
 * An idle keep-alive connection is closed after this: longer than the 60 s idle timeout of common
 * load balancers, so the balancer closes first and never sends on a connection being closed.
 */
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;
/** How often Node looks for requests past the two deadlines above (its default, 30 s, lets them overrun as long). */
export const DEADLINE_CHECK_INTERVAL_MS = 1_000;
/**
 * Open connections one server serves; a connection beyond it gets `503` with `Retry-After` and is
 * closed. Well under the descriptor limit (`ulimit -n`, often 20k–1M) with four servers in one
 * process (each connection a descriptor and some 10 KiB), and far above what the gateway's agent
 * opens to a service (256 at most) or a browser keeps (about 6).
 */
export const MAX_CONNECTIONS = 10_000;
/**
 * Past `MAX_CONNECTIONS` plus this, connections are dropped at once without an answer (Node's
 * `maxConnections`): the 503 costs a socket and a parser each, which a flood must not exhaust.
 */
export const CONNECTION_OVERFLOW = 1_000;
/** What a client over the connection limit is told to wait, in seconds. */
const RETRY_AFTER_SECONDS = 1;

/** The server's limits; tests shorten them. */
export interface ServerLimits {
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly deadlineCheckIntervalMs: number;
  readonly maxConnections: number;
  readonly connectionOverflow: number;
}

export const defaultServerLimits: ServerLimits = {
  headersTimeoutMs: HEADERS_TIMEOUT_MS,
  requestTimeoutMs: REQUEST_TIMEOUT_MS,
  keepAliveTimeoutMs: KEEP_ALIVE_TIMEOUT_MS,
  deadlineCheckIntervalMs: DEADLINE_CHECK_INTERVAL_MS,
  maxConnections: MAX_CONNECTIONS,
  connectionOverflow: CONNECTION_OVERFLOW,
};

const BUSY_BODY = JSON.stringify({
  error: { code: 'too_many_connections', message: 'the server is at its limit of connections; try again shortly' },
});

/**
 * Counts open connections and answers each request of one opened over `max` with `503` and
 * `Retry-After`, closing it after: the client learns to come back, where a bare close looks like a
 * crash and invites an immediate retry.
 */
const connectionLimit = (
  handler: RequestListener,
  max: number,
): { handler: RequestListener; watch: (s: Server) => void } => {
  let open = 0;
  const over = new WeakSet<Socket>();
  const watch = (server: Server): void => {
    server.on('connection', (socket: Socket) => {
      open += 1;
      if (open > max) over.add(socket);
      socket.once('close', () => (open -= 1));
    });
  };
  const limited: RequestListener = (req, res) => {
    if (!over.has(req.socket)) return handler(req, res);
    req.resume();
    res.writeHead(503, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(BUSY_BODY),
      'retry-after': String(RETRY_AFTER_SECONDS),
      connection: 'close',
    });
    res.end(BUSY_BODY);
  };
  return { handler: limited, watch };
};

/**
 * A request Node's HTTP parser refuses (a header with a control character, headers past Node's
 * size limit, a request past its deadline) gets the contract's error shape instead of Node's bare
 * status line, and the connection is closed.
 */
const answerClientError = (err: Error & { code?: string }, socket: Duplex): void => {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const timedOut = err.code === 'ERR_HTTP_REQUEST_TIMEOUT';
  const status = timedOut ? 408 : 400;
  const body = JSON.stringify({
    error: timedOut
      ? { code: 'request_timeout', message: 'the request did not arrive in time' }
      : // A header field is the usual culprit: the code every operation documents for a bad field.
        { code: 'invalid_field', message: 'a header field is not valid HTTP (e.g. it holds a control character)' },
  });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
};

/** An HTTP server that can drain: stop accepting, finish what is in flight, then close. */
export class HttpServer {
  private server: Server | undefined;

  constructor(
    private readonly handler: RequestListener,
    private readonly port: number,
    private readonly host = '0.0.0.0',
    private readonly limits: ServerLimits = defaultServerLimits,
  ) {}

  async start(): Promise<number> {
    const limits = this.limits;
    const limited = connectionLimit(this.handler, limits.maxConnections);
    const server = createServer(
      {
        headersTimeout: limits.headersTimeoutMs,
        requestTimeout: limits.requestTimeoutMs,
        keepAliveTimeout: limits.keepAliveTimeoutMs,
        connectionsCheckingInterval: limits.deadlineCheckIntervalMs,
      },
      limited.handler,
    );
    server.maxConnections = limits.maxConnections + limits.connectionOverflow;
    server.on('clientError', answerClientError);
    limited.watch(server);
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, this.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return (server.address() as AddressInfo).port;
  }

  /** Stops accepting; resolves once in-flight requests are answered (or after `graceMs`). */
  async stop(graceMs = 10_000): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const timer = setTimeout(() => server.closeAllConnections(), graceMs);
    const idle = setInterval(() => server.closeIdleConnections(), 100);
    try {
      await closed;
    } finally {
      clearTimeout(timer);
      clearInterval(idle);
    }
  }
}
