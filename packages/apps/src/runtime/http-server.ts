import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** An HTTP server that can drain: stop accepting, finish what is in flight, then close. */
export class HttpServer {
  private server: Server | undefined;

  constructor(
    private readonly handler: RequestListener,
    private readonly port: number,
    private readonly host = '0.0.0.0',
  ) {}

  async start(): Promise<number> {
    const server = createServer({ keepAliveTimeout: 65_000 }, this.handler);
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
