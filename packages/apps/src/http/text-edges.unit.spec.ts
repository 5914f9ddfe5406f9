import { expect } from 'chai';
import { request } from 'node:http';
import { connect } from 'node:net';
import type { InMemorySystem } from '@gozon/adapters/in-memory';
import { startInMemoryApis, type InMemoryApis } from './in-memory-apis.spec.helper.js';

interface Answer {
  readonly status: number;
  readonly body: { error?: { code: string; message: string } } & Record<string, unknown>;
}

/**
 * A request as written, byte for byte: fetch would normalise `..` in a path and refuse some header
 * values, and JSON.stringify would escape what a hand-written body sends raw.
 */
const send = (base: string, method: string, path: string, body?: string, headers: Record<string, string> = {}) =>
  new Promise<Answer>((resolve, reject) => {
    const { hostname, port } = new URL(base);
    const req = request({ hostname, port, method, path, headers: { 'content-type': 'application/json', ...headers } });
    req.on('error', reject);
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Answer['body'] }));
    });
    req.end(body);
  });

/**
 * A POST written on the socket itself, for header values Node's client refuses to send. Node's
 * server may refuse them too, before our code (a bare 400 without a body): refused either way.
 */
const sendRaw = (base: string, path: string, body: string, header: string) =>
  new Promise<Answer>((resolve, reject) => {
    const { hostname, port } = new URL(base);
    const socket = connect(Number(port), hostname);
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      const [head = '', rest = ''] = text.split('\r\n\r\n');
      const status = Number(/^HTTP\/1\.1 (\d+)/.exec(head)?.[1] ?? 0);
      resolve({ status, body: rest.startsWith('{') ? (JSON.parse(rest) as Answer['body']) : {} });
    });
    const lines = [`POST ${path} HTTP/1.1`, 'Host: localhost', 'Content-Type: application/json', header];
    lines.push(`Content-Length: ${Buffer.byteLength(body)}`, 'Connection: close', '', body);
    socket.end(lines.join('\r\n'), 'latin1');
  });

// Each as a JSON escape, so the body holds exactly this text: NUL, a lone surrogate, ESC, NEL.
const BAD = ['\\u0000', '\\ud800', '\\u001b', '\\u0085'];

describe('text fields, parameters and headers at the HTTP edge (in-memory use cases)', () => {
  let apis: InMemoryApis;
  let system: InMemorySystem;
  let orders = '';
  let payments = '';

  // Without identity, so that every request names its user (the user_id cases need that).
  before(async () => {
    apis = await startInMemoryApis();
    ({ system, orders, payments } = apis);
  });

  after(() => apis.stop());

  const refused = (answer: Answer, code: string, field: string): void => {
    expect(answer.status, JSON.stringify(answer.body)).to.equal(400);
    expect(answer.body.error?.code).to.equal(code);
    expect(answer.body.error?.message).to.contain(field);
  };
  const ordersOf = async (user: string) => (await system.listOrders.execute(null, user)).orders;
  const user = () => `text-${globalThis.crypto.randomUUID()}`;

  for (const bad of BAD) {
    it(`refuses ${bad} in a description, naming it, and places no order`, async () => {
      const u = user();
      const body = `{"user_id":"${u}","amount":100,"description":"a book ${bad}"}`;
      refused(await send(orders, 'POST', '/orders', body), 'invalid_field', 'description');
      expect(await ordersOf(u)).to.deep.equal([]);
    });

    it(`refuses ${bad} in a user_id of every body and in the user_id query`, async () => {
      const named = `"user${bad}"`;
      refused(await send(orders, 'POST', '/orders', `{"user_id":${named},"amount":1}`), 'invalid_field', 'user_id');
      refused(await send(payments, 'POST', '/payments/accounts', `{"user_id":${named}}`), 'invalid_field', 'user_id');
      const deposit = `{"user_id":${named},"amount":1}`;
      refused(await send(payments, 'POST', '/payments/accounts/deposit', deposit), 'invalid_field', 'user_id');
    });
  }

  for (const [what, escaped] of [
    ['NUL', '%00'],
    ['ESC', '%1B'],
    ['NEL', '%C2%85'],
  ] as const) {
    it(`refuses ${what} in path parameters and in the user_id query, naming them`, async () => {
      refused(await send(orders, 'GET', `/orders/${escaped}`), 'invalid_field', 'id');
      refused(await send(orders, 'GET', `/orders/a${escaped}b`), 'invalid_field', 'id');
      refused(await send(orders, 'GET', `/orders?user_id=u${escaped}`), 'invalid_field', 'user_id');
      refused(await send(payments, 'GET', `/payments/accounts/u${escaped}/balance`), 'invalid_field', 'user_id');
    });
  }

  it('still answers 404 for an order id that is valid text but no UUID', async () => {
    expect((await send(orders, 'GET', '/orders/not-a-uuid')).status).to.equal(404);
  });

  for (const dots of ['.', '..', '...']) {
    it(`refuses the user id ${dots} in bodies and paths, and opens no account`, async () => {
      const encoded = dots.replace(/\./g, '%2E');
      refused(await send(payments, 'POST', '/payments/accounts', `{"user_id":"${dots}"}`), 'invalid_field', 'user_id');
      refused(await send(payments, 'GET', `/payments/accounts/${encoded}/balance`), 'invalid_field', 'user_id');
      refused(await send(orders, 'POST', '/orders', `{"user_id":"${dots}","amount":1}`), 'invalid_field', 'user_id');
      refused(await send(orders, 'GET', `/orders?user_id=${encoded}`), 'invalid_field', 'user_id');
      expect([...system.paymentsDb.accounts.values()].map((a) => a.userId)).not.to.include(dots);
    });
  }

  for (const [what, key] of [
    ['an empty', ''],
    ['a blank', '   '],
    ['a non-ASCII', 'kéy'],
  ] as const) {
    it(`refuses ${what} Idempotency-Key with 400 naming the header, and changes nothing`, async () => {
      const u = user();
      await system.createAccount.execute({ caller: null, userId: u });
      const headers = { 'idempotency-key': key };
      const order = `{"user_id":"${u}","amount":100}`;
      refused(await send(orders, 'POST', '/orders', order, headers), 'invalid_idempotency_key', 'Idempotency-Key');
      const deposit = `{"user_id":"${u}","amount":100}`;
      const answer = await send(payments, 'POST', '/payments/accounts/deposit', deposit, headers);
      refused(answer, 'invalid_idempotency_key', 'Idempotency-Key');
      expect(await ordersOf(u)).to.deep.equal([]);
      expect((await system.getBalance.execute(null, u)).balance).to.equal(0);
    });
  }

  for (const [what, value] of [
    ['a tab', 'key\tkey'],
    ['ESC', 'key\u001bkey'],
    ['NUL', 'key\u0000key'],
    ['DEL', 'key\u007fkey'],
  ] as const) {
    it(`refuses an Idempotency-Key with ${what} inside, and changes nothing`, async () => {
      const u = user();
      const answer = await sendRaw(orders, '/orders', `{"user_id":"${u}","amount":100}`, `Idempotency-Key: ${value}`);
      expect(answer.status).to.equal(400);
      // Node's own parser may refuse it first; when our code sees it, it says which header.
      if (answer.body.error) refused(answer, 'invalid_idempotency_key', 'Idempotency-Key');
      expect(await ordersOf(u)).to.deep.equal([]);
    });
  }

  it('takes a request without Idempotency-Key, and one with a valid key', async () => {
    const u = user();
    expect((await send(orders, 'POST', '/orders', `{"user_id":"${u}","amount":1}`)).status).to.equal(201);
    const keyed = await send(orders, 'POST', '/orders', `{"user_id":"${u}","amount":1}`, { 'idempotency-key': 'k 1' });
    expect(keyed.status).to.equal(201);
    expect(await ordersOf(u)).to.have.length(2);
  });
});
