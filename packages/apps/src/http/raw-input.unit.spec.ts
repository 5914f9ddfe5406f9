import { connect } from 'node:net';
import { expect } from 'chai';
import Koa from 'koa';
import { HttpServer } from '../runtime/http-server.js';
import { errorMiddleware } from './error-middleware.js';
import { readJson } from './json-body.js';

/** Sends `bytes` on a raw connection and returns all the server answered before it closed. */
const raw = (port: number, bytes: Buffer): Promise<string> =>
  new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(bytes));
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk.toString('latin1')));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
  });

describe('requests that are not valid HTTP or not UTF-8 get the contract’s error shape', () => {
  let server: HttpServer;
  let port = 0;
  let reached = 0;
  before(async () => {
    const app = new Koa();
    app.use(errorMiddleware(() => undefined));
    app.use(async (ctx) => {
      reached += 1;
      ctx.body = { got: await readJson(ctx) };
    });
    server = new HttpServer(app.callback(), 0, '127.0.0.1');
    port = await server.start();
  });
  after(() => server.stop());

  it('answers a header with a control character 400 invalid_field in JSON, before any route', async () => {
    const before = reached;
    const answer = await raw(
      port,
      Buffer.from('POST /orders HTTP/1.1\r\nHost: x\r\nIdempotency-Key: a\x7fb\r\nContent-Length: 2\r\n\r\n{}'),
    );
    expect(answer).to.match(/^HTTP\/1\.1 400 /);
    expect(answer).to.match(/content-type: application\/json/i);
    expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).to.have.nested.property(
      'error.code',
      'invalid_field',
    );
    expect(reached).to.equal(before);
  });

  it('refuses a JSON body whose bytes are not UTF-8 (400 malformed_json), instead of storing U+FFFD', async () => {
    const body = Buffer.concat([Buffer.from('{"description":"bad '), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]);
    const head = `POST /orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
    const answer = await raw(port, Buffer.concat([Buffer.from(head), body]));
    expect(answer).to.match(/^HTTP\/1\.1 400 /);
    expect(answer).to.contain('"code":"malformed_json"');
    expect(answer).to.not.contain('\ufffd');
  });
});
