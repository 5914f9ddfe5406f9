import { connect } from 'node:net';

export interface SlowClientResult {
  readonly part: 'headers' | 'body';
  /** Whether the server closed the connection (or answered it) before the deadline. */
  readonly cutOff: boolean;
  readonly outcome: string;
  /** Ordinary requests sent meanwhile, one a second, and how many were answered within 2 s. */
  readonly othersSent: number;
  readonly othersAnswered: number;
}

/**
 * A client that sends a POST /orders one byte a second (its headers, or its body after whole
 * headers), as a slow or hostile client would, while an ordinary client keeps asking GET /orders.
 */
export const slowClient = (
  base: string,
  token: string,
  part: 'headers' | 'body',
  deadlineMs: number,
): Promise<SlowClientResult> => {
  const url = new URL(base);
  const body = JSON.stringify({ amount: 1, description: 'x'.repeat(200) });
  const head =
    `POST /orders HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${token}\r\n` +
    `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
  const started = Date.now();
  return new Promise((resolve) => {
    const socket = connect({ host: url.hostname, port: Number(url.port) });
    let sent = part === 'body' ? head.length : 0;
    const wire = head + body;
    let answer = '';
    let othersSent = 0;
    let othersAnswered = 0;
    const drip = setInterval(() => {
      if (sent < wire.length && !socket.destroyed) socket.write(wire[sent++]!);
      othersSent += 1;
      const ordinary = AbortSignal.timeout(2_000);
      fetch(`${base}/orders?limit=1`, { headers: { authorization: `Bearer ${token}` }, signal: ordinary })
        .then(async (res) => {
          await res.arrayBuffer();
          if (res.status === 200) othersAnswered += 1;
        })
        .catch(() => undefined);
    }, 1_000);
    let done = false;
    const finish = (cutOff: boolean, outcome: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearInterval(drip);
      socket.destroy();
      // Let the last ordinary request finish before counting.
      setTimeout(() => resolve({ part, cutOff, outcome, othersSent, othersAnswered }), 2_100);
    };
    const timer = setTimeout(
      () => finish(false, `still open after ${deadlineMs / 1000} s (${sent} of ${wire.length} bytes sent)`),
      deadlineMs,
    );
    const took = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString('latin1');
      const status = /^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1];
      if (status) finish(true, `answered ${status} after ${took()}`);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => finish(true, `closed without an answer after ${took()}`));
    if (part === 'body') socket.write(head);
  });
};
