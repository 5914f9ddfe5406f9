import { expect } from 'chai';
import type { RequestListener } from 'node:http';
import { connect, type Socket } from 'node:net';
import { defaultServerLimits, HttpServer, type ServerLimits } from './http-server.js';

/** Answers once it has read the whole body, with how many bytes it read. */
const echoLength: RequestListener = (req, res) => {
  let length = 0;
  req.on('data', (chunk: Buffer) => (length += chunk.length));
  req.on('end', () => res.end(JSON.stringify({ length })));
};

const short: ServerLimits = {
  ...defaultServerLimits,
  headersTimeoutMs: 1_000,
  requestTimeoutMs: 1_500,
  keepAliveTimeoutMs: 5_000,
  deadlineCheckIntervalMs: 100,
};

const open = (port: number): Promise<Socket> =>
  new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });

/** Everything the server sends on `socket` until it closes it; and when, in ms from now. */
const untilClosed = (socket: Socket): Promise<{ text: string; afterMs: number }> => {
  const started = Date.now();
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
  socket.on('error', () => undefined);
  return new Promise((resolve) => socket.once('close', () => resolve({ text, afterMs: Date.now() - started })));
};

const nextAnswer = (socket: Socket): Promise<string> =>
  new Promise((resolve) => socket.once('data', (chunk: Buffer) => resolve(chunk.toString())));

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the HTTP server of every part: deadlines and the connection limit', () => {
  let server: HttpServer | undefined;
  afterEach(async () => {
    await server?.stop(100);
    server = undefined;
  });

  it('cuts off a client trickling its body a byte a second, answering another client meanwhile', async function () {
    this.timeout(10_000);
    server = new HttpServer(echoLength, 0, '127.0.0.1', short);
    const port = await server.start();
    const slow = await open(port);
    const closed = untilClosed(slow);
    slow.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n');
    const trickle = setInterval(() => slow.writable && slow.write('a'), 1_000);
    try {
      await sleep(500);
      const other = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: 'hello' });
      expect(await other.json()).to.deep.equal({ length: 5 });
      const { text, afterMs } = await closed;
      expect(afterMs).to.be.within(1_000, 3_500);
      expect(text).to.match(/^HTTP\/1\.1 408 /);
    } finally {
      clearInterval(trickle);
    }
  });

  it('keeps an idle keep-alive connection past the headers deadline, until the keep-alive timeout', async function () {
    this.timeout(10_000);
    server = new HttpServer(echoLength, 0, '127.0.0.1', short);
    const socket = await open(await server.start());
    const request = 'GET / HTTP/1.1\r\nHost: x\r\n\r\n';
    socket.write(request);
    expect(await nextAnswer(socket)).to.match(/^HTTP\/1\.1 200 /);
    await sleep(2_000);
    socket.write(request);
    expect(await nextAnswer(socket)).to.match(/^HTTP\/1\.1 200 /);
    socket.destroy();
  });

  it('answers a connection over its limit 503 with Retry-After and closes it; drops those past the overflow', async () => {
    server = new HttpServer(echoLength, 0, '127.0.0.1', { ...short, maxConnections: 2, connectionOverflow: 1 });
    const port = await server.start();
    const held = [await open(port), await open(port)];
    const over = await open(port);
    const answer = untilClosed(over);
    over.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const { text } = await answer;
    expect(text).to.match(/^HTTP\/1\.1 503 /);
    expect(text).to.match(/\r\nretry-after: 1\r\n/i);
    expect(text).to.contain('"code":"too_many_connections"');
    // Two held, one more counted while it waits for its 503: the fourth is past the overflow.
    const third = await open(port);
    const dropped = await open(port);
    expect((await untilClosed(dropped)).text).to.equal('');
    for (const socket of [...held, third]) socket.destroy();
    await sleep(100);
    const after = await fetch(`http://127.0.0.1:${port}/`);
    expect(after.status).to.equal(200);
  });
});
