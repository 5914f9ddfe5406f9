import { expect } from 'chai';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { badText } from './oracle.js';
import type { Violation } from './runner.js';
import { Fuzzer } from './runner.js';
import { EMPTY_SNAPSHOT, type Snapshot } from './snapshot.js';
import { SpecModel } from './spec-model.js';

/*
 * The generative test must be able to fail: pointed at servers that break the contract in
 * plain ways, it finds each of them within a few dozen requests.
 */

const spec = new SpecModel();
const json = (res: Parameters<RequestListener>[1], status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
};

/** The kinds of violation a run of `runs` requests against `handler` finds. */
const findings = async (
  handler: RequestListener,
  runs = 150,
  snapshot: () => Promise<Snapshot> = () => Promise.resolve(EMPTY_SNAPSHOT),
): Promise<Set<string>> => {
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => handler(req, res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const fuzzer = new Fuzzer(spec, {
      base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      tokens: { alice: 'a.b.c', bob: 'd.e.f', admin: 'g.h.i' },
      snapshot,
    });
    const kinds = new Set<string>();
    await fc.assert(
      fuzzer.property((v: Violation) => kinds.add(v.kind)),
      { seed: 42, numRuns: runs },
    );
    return kinds;
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
};

describe('generative API test: it fails against servers that break the contract', function () {
  this.timeout(30_000);

  it('finds a server that answers 500', async () => {
    expect(
      await findings((_req, res) => json(res, 500, { error: { code: 'internal_error', message: 'boom' } })),
    ).to.include('5xx');
  });

  it('finds a server that refuses everything with a well-formed 400', async () => {
    const kinds = await findings((_req, res) => json(res, 400, { error: { code: 'invalid_field', message: 'no' } }));
    expect(kinds).to.include('status');
  });

  it('finds a server that accepts everything', async () => {
    const kinds = await findings((_req, res) => json(res, 201, { id: 'x', user_id: 'alice', status: 'NEW' }));
    expect(kinds).to.include('status');
  });

  it('finds errors of another shape, and answers that are not JSON', async () => {
    expect(await findings((_req, res) => json(res, 401, { message: 'unauthorized' }))).to.include('shape');
    expect(
      await findings((_req, res) => res.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found')),
    ).to.include('shape');
  });

  it("finds a server that shows alice bob's data", async () => {
    const kinds = await findings((req, res) =>
      req.method === 'GET' && req.url?.startsWith('/payments/accounts/')
        ? json(res, 200, { user_id: 'bob', balance: 1 })
        : json(res, 401, { error: { code: 'unauthorized', message: 'no' } }),
    );
    expect(kinds).to.include('identity');
  });

  it('finds a refusal that changed something all the same', async () => {
    let credited = 0n;
    const growing = () => Promise.resolve({ ...EMPTY_SNAPSHOT, credited: new Map([['bob', (credited += 1n)]]) });
    const kinds = await findings(
      (_req, res) => json(res, 400, { error: { code: 'invalid_field', message: 'no' } }),
      50,
      growing,
    );
    expect(kinds).to.include('changed-on-4xx');
  });

  it('tells control characters and invalid Unicode from clean text', () => {
    for (const bad of ['\u0000', 'a\u0001', '\n', '\u007f', '\u0085', '\ud800', 'a\udc00', '\udc00\ud800']) {
      expect(badText(bad), JSON.stringify(bad)).to.equal(true);
    }
    for (const good of ['', 'a book', '😀', 'é', 'ÿ']) expect(badText(good), good).to.equal(false);
  });
});
