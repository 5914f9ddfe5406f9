import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createServer, type RequestListener, type Server } from 'node:http';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { parse } from 'yaml';
import { InMemorySystem } from '@gozon/adapters/in-memory';
import { MAX_AMOUNT } from '@gozon/core';
import { createGatewayApp } from '../gateway/gateway-app.js';
import { createOrdersApp, type OrdersUseCases } from '../orders/orders-app.js';
import { createPaymentsApp, type PaymentsUseCases } from '../payments/payments-app.js';
import { authenticate } from '../auth/bearer.js';
import { createWebApp } from '../web/web-app.js';

/*
 * Keeps docs/openapi.yaml true to the code: every answer the real apps give (through the real
 * gateway, on the in-memory harness) must be a status the spec documents for that operation, with
 * a body valid against the documented schema; every documented status and error code must be
 * produced by some request here; and the documented request schemas must accept exactly the
 * bodies and parameters the code accepts.
 */

// ajv-formats is CommonJS: under NodeNext its default import is the module object.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ??
  addFormatsModule) as unknown as (ajv: Ajv2020) => Ajv2020;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };
type Method = 'get' | 'post';

const SPEC_URL = new URL('../../../../docs/openapi.yaml', import.meta.url);
const spec = parse(readFileSync(SPEC_URL, 'utf-8')) as JsonObject;

const at = (value: Json | undefined, ...keys: string[]): Json | undefined => {
  let current = value;
  for (const key of keys) {
    if (current === null || typeof current !== 'object' || Array.isArray(current)) return undefined;
    current = current[key];
  }
  return current;
};
const obj = (value: Json | undefined, what: string): JsonObject => {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error(`${what} is not an object`);
  return value;
};

/** Follows a local `$ref` to a component that is not a schema (responses, parameters). */
const deref = (value: Json | undefined, what: string): JsonObject => {
  const node = obj(value, what);
  const ref = node['$ref'];
  if (typeof ref !== 'string') return node;
  if (!ref.startsWith('#/')) throw new Error(`${what}: only local $refs are supported, got ${ref}`);
  return deref(at(spec, ...ref.slice(2).split('/')), ref);
};

// Schemas: the spec's components become one JSON Schema 2020-12 document, and every schema's
// `#/components/schemas/X` points into it.
const SCHEMAS_ID = 'https://gozon.local/openapi-components.json';
const rewrite = (value: Json): Json => {
  if (Array.isArray(value)) return value.map(rewrite);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, inner]) => [
      key,
      key === '$ref' && typeof inner === 'string' && inner.startsWith('#/components/schemas/')
        ? `${SCHEMAS_ID}#/$defs/${inner.slice('#/components/schemas/'.length)}`
        : rewrite(inner),
    ]),
  );
};
const ajv = new Ajv2020({ strict: true, allErrors: true });
addFormats(ajv);
ajv.addKeyword('discriminator'); // OpenAPI's annotation; validation is by oneOf alone
ajv.addSchema({ $id: SCHEMAS_ID, $defs: rewrite(obj(at(spec, 'components', 'schemas'), 'components.schemas')) });
const validators = new Map<string, ValidateFunction>();
const validatorFor = (key: string, schema: Json | undefined): ValidateFunction => {
  let validate = validators.get(key);
  if (!validate) {
    validate = ajv.compile(rewrite(obj(schema, `schema of ${key}`)) as object);
    validators.set(key, validate);
  }
  return validate;
};
const errorsOf = (validate: ValidateFunction): string => ajv.errorsText(validate.errors, { separator: '; ' });

const operation = (method: Method, path: string): JsonObject => {
  const op = at(spec, 'paths', path, method);
  expect(op, `${method.toUpperCase()} ${path} is not documented`).to.be.an('object');
  return obj(op, `${method} ${path}`);
};

/** The error codes a documented response allows (its `error.code` const or enum), if it is an error. */
const documentedCodes = (response: JsonObject): string[] => {
  const code = at(response, 'content', 'application/json', 'schema', 'properties', 'error', 'properties', 'code');
  const values = at(code, 'enum') ?? (at(code, 'const') === undefined ? [] : [at(code, 'const')]);
  return (values as Json[]).map(String);
};

const OPERATIONS: ReadonlyArray<readonly [Method, string]> = [
  ['post', '/payments/accounts'],
  ['post', '/payments/accounts/deposit'],
  ['get', '/payments/accounts/{user_id}/balance'],
  ['post', '/orders'],
  ['get', '/orders'],
  ['get', '/orders/{id}'],
  ['get', '/healthz'],
  ['get', '/readyz'],
];
/** Codes no well-behaved HTTP client can provoke (the body could not be read off the socket). */
const NOT_PROVOKED = new Set(['malformed_body']);

describe('docs/openapi.yaml matches what the apps answer (in-memory use cases, through the gateway)', () => {
  let system: InMemorySystem;
  const servers: Server[] = [];
  const logged: unknown[] = [];
  /** The real gateway in front of the real apps. */
  let api = '';
  /** A gateway whose services do not listen: 503 upstream_unavailable. */
  let deadApi = '';
  /** A gateway whose services reset every connection: 502 bad_gateway. */
  let resetApi = '';
  /** A gateway in front of apps whose use cases throw `failure`: 500 or 503 service_unavailable. */
  let brokenApi = '';
  let failure: unknown = new Error('boom');
  let brokenReady = true;
  const direct: Record<'orders' | 'payments' | 'web' | 'gateway' | 'brokenOrders' | 'brokenPayments', string> = {
    orders: '',
    payments: '',
    web: '',
    gateway: '',
    brokenOrders: '',
    brokenPayments: '',
  };

  /** (operation → status → error codes) seen in real answers. */
  const seen = new Map<string, Map<number, Set<string>>>();

  const listen = (handler: RequestListener) =>
    new Promise<string>((resolve) => {
      const server = createServer(handler).listen(0, '127.0.0.1', () => {
        resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
      });
      servers.push(server);
    });
  const gateway = async (ordersUrl: string, paymentsUrl: string) => {
    const { app, agent } = createGatewayApp({ ordersUrl, paymentsUrl, webUrl: direct.web });
    const url = await listen(app.callback());
    servers.at(-1)!.on('close', () => agent.destroy());
    return url;
  };

  before(async () => {
    system = new InMemorySystem();
    await system.start();
    // Without identity: these suites are about the API's shapes; identity has suites of its own.
    const options = {
      ready: async () => true,
      logError: (err: unknown) => logged.push(err),
      authenticate: authenticate(null),
    };
    direct.orders = await listen(createOrdersApp(system, options).callback());
    direct.payments = await listen(createPaymentsApp(system, options).callback());
    direct.web = await listen(createWebApp().callback());
    api = await gateway(direct.orders, direct.payments);
    direct.gateway = api;

    const dead = await listen(() => undefined);
    await new Promise((resolve) => servers.pop()!.close(resolve));
    deadApi = await gateway(dead, dead);

    const reset = await listen((req) => req.socket.destroy());
    resetApi = await gateway(reset, reset);

    const fail = { execute: async () => Promise.reject(failure) };
    const brokenOptions = {
      ready: async () => brokenReady,
      logError: () => undefined,
      authenticate: authenticate(null),
    };
    const brokenOrders: OrdersUseCases = { placeOrder: fail, getOrder: fail, listOrders: fail };
    const brokenPayments: PaymentsUseCases = { createAccount: fail, deposit: fail, getBalance: fail };
    direct.brokenOrders = await listen(createOrdersApp(brokenOrders, brokenOptions).callback());
    direct.brokenPayments = await listen(createPaymentsApp(brokenPayments, brokenOptions).callback());
    brokenApi = await gateway(direct.brokenOrders, direct.brokenPayments);
  });

  after(async () => {
    await Promise.all(
      servers.map((s) => {
        s.closeAllConnections();
        return new Promise((resolve) => s.close(resolve));
      }),
    );
    await system.stop();
  });

  interface Call {
    readonly method: Method;
    /** The documented path template, e.g. `/orders/{id}`. */
    readonly path: string;
    /** The concrete path and query to request. */
    readonly url?: string;
    readonly body?: unknown;
    readonly headers?: Record<string, string>;
    /** Where to send it (the gateway unless said otherwise). */
    readonly base?: string;
  }

  /** Sends a request and checks its answer against the spec; returns status and parsed body. */
  const call = async (c: Call): Promise<{ status: number; body: Json }> => {
    const op = operation(c.method, c.path);
    const hasBody = c.body !== undefined;
    const res = await fetch(`${c.base ?? api}${c.url ?? c.path}`, {
      method: c.method.toUpperCase(),
      headers: { ...(hasBody ? { 'content-type': 'application/json' } : {}), ...c.headers },
      ...(hasBody ? { body: typeof c.body === 'string' ? c.body : JSON.stringify(c.body) } : {}),
    });
    const text = await res.text();
    const name = `${c.method.toUpperCase()} ${c.path} → ${res.status} ${text.slice(0, 300)}`;
    const documented = at(op, 'responses', String(res.status));
    expect(documented, `status not documented: ${name}`).to.not.equal(undefined);
    const response = deref(documented, name);
    const media = at(response, 'content', 'application/json');
    expect(media, `documented without a JSON body: ${name}`).to.not.equal(undefined);
    expect(res.headers.get('content-type'), name).to.match(/^application\/json\b/);
    const body = JSON.parse(text) as Json;
    const validate = validatorFor(`${c.method} ${c.path} ${res.status}`, at(media, 'schema'));
    expect(validate(body), `${name}\n  does not match the documented schema: ${errorsOf(validate)}`).to.equal(true);
    for (const [header, definition] of Object.entries(obj(at(response, 'headers') ?? {}, 'headers'))) {
      const value = res.headers.get(header);
      if (value === null) continue;
      const check = validatorFor(`${name} header ${header}`, at(deref(definition, header), 'schema'));
      expect(check(/^\d+$/.test(value) ? Number(value) : value), `${name}: header ${header}=${value}`).to.equal(true);
    }
    const key = `${c.method} ${c.path}`;
    const statuses = seen.get(key) ?? new Map<number, Set<string>>();
    seen.set(key, statuses);
    const codes = statuses.get(res.status) ?? new Set<string>();
    statuses.set(res.status, codes);
    const code = at(body, 'error', 'code');
    if (typeof code === 'string') codes.add(code);
    return { status: res.status, body };
  };
  /** A call that must answer `status` (and `code`, for an error). */
  const expectCall = async (c: Call, status: number, code?: string): Promise<Json> => {
    const { status: got, body } = await call(c);
    expect(got, `${c.method} ${c.url ?? c.path}: ${JSON.stringify(body)}`).to.equal(status);
    if (code) expect(at(body, 'error', 'code')).to.equal(code);
    return body;
  };

  const newUser = (() => {
    let n = 0;
    return (prefix = 'u') => `${prefix}-${Date.now().toString(36)}-${(n += 1)}`;
  })();
  const fundedUser = async (amount: number): Promise<string> => {
    const user = newUser();
    await expectCall({ method: 'post', path: '/payments/accounts', body: { user_id: user } }, 201);
    if (amount > 0) {
      await expectCall({ method: 'post', path: '/payments/accounts/deposit', body: { user_id: user, amount } }, 200);
    }
    return user;
  };

  it('documents exactly the operations the system serves', () => {
    const documented = Object.entries(obj(spec['paths'], 'paths')).flatMap(([path, item]) =>
      Object.keys(obj(item, path))
        .filter((k) => ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'].includes(k))
        .map((method) => `${method} ${path}`),
    );
    expect(documented.sort()).to.deep.equal(OPERATIONS.map(([m, p]) => `${m} ${p}`).sort());
  });

  it('runs the seed scenario through the gateway: every success answer is as documented', async () => {
    const user = await fundedUser(2000);
    await expectCall(
      { method: 'get', path: '/payments/accounts/{user_id}/balance', url: `/payments/accounts/${user}/balance` },
      200,
    );
    const placed = await expectCall(
      {
        method: 'post',
        path: '/orders',
        body: { user_id: user, amount: 1500, description: 'book' },
        headers: { 'idempotency-key': newUser('k') },
      },
      201,
    );
    expect(at(placed, 'status')).to.equal('NEW');
    const over = await expectCall({ method: 'post', path: '/orders', body: { user_id: user, amount: 1000 } }, 201);
    const stranger = await expectCall(
      { method: 'post', path: '/orders', body: { user_id: newUser('nobody'), amount: 5 } },
      201,
    );
    await system.settle();
    const final = async (order: Json) =>
      expectCall({ method: 'get', path: '/orders/{id}', url: `/orders/${String(at(order, 'id'))}` }, 200);
    expect(at(await final(placed), 'status')).to.equal('FINISHED');
    expect(await final(over)).to.include({ status: 'CANCELLED', failure_reason: 'insufficient_funds' });
    expect(await final(stranger)).to.include({ status: 'CANCELLED', failure_reason: 'account_not_found' });
    const list = await expectCall({ method: 'get', path: '/orders', url: `/orders?user_id=${user}` }, 200);
    expect(list).to.have.length(2);
    await expectCall({ method: 'get', path: '/orders', url: `/orders?user_id=${newUser('none')}` }, 200);
    const balance = await expectCall(
      { method: 'get', path: '/payments/accounts/{user_id}/balance', url: `/payments/accounts/${user}/balance` },
      200,
    );
    expect(balance).to.deep.equal({ user_id: user, balance: 500 });
  });

  it('answers every documented error of every operation, each in its documented shape and code', async () => {
    const bodies = {
      '/payments/accounts': { user_id: newUser() },
      '/payments/accounts/deposit': { user_id: newUser(), amount: 5 },
      '/orders': { user_id: newUser(), amount: 5 },
    };
    for (const path of Object.keys(bodies) as (keyof typeof bodies)[]) {
      const post = (body: unknown, headers?: Record<string, string>): Call => ({
        method: 'post',
        path,
        body,
        ...(headers ? { headers } : {}),
      });
      await expectCall(post('{"user_id":'), 400, 'malformed_json');
      await expectCall(post([1, 2]), 400, 'invalid_body');
      await expectCall(post({ amount: 5 }), 400, 'missing_field');
      await expectCall(post({ user_id: 'not valid', amount: 5 }), 400, 'invalid_field');
      await expectCall(
        post(JSON.stringify({ ...bodies[path], description: 'y'.repeat(70_000) })),
        413,
        'payload_too_large',
      );
      await expectCall(
        { method: 'post', path, body: 'x', headers: { 'content-type': 'text/plain' } },
        415,
        'unsupported_media_type',
      );
      await expectCall({ method: 'post', path }, 415, 'unsupported_media_type');
      if (path !== '/payments/accounts') {
        await expectCall(post(bodies[path], { 'idempotency-key': 'k'.repeat(129) }), 400, 'invalid_idempotency_key');
      }
    }

    const user = await fundedUser(0);
    await expectCall({ method: 'post', path: '/payments/accounts', body: { user_id: user } }, 409, 'account_exists');
    await expectCall(
      { method: 'post', path: '/payments/accounts/deposit', body: { user_id: newUser('nobody'), amount: 5 } },
      404,
      'account_not_found',
    );
    const key = { 'idempotency-key': newUser('k') };
    await expectCall(
      { method: 'post', path: '/payments/accounts/deposit', body: { user_id: user, amount: 7 }, headers: key },
      200,
    );
    await expectCall(
      { method: 'post', path: '/payments/accounts/deposit', body: { user_id: user, amount: 7 }, headers: key },
      200,
    );
    await expectCall(
      { method: 'post', path: '/payments/accounts/deposit', body: { user_id: user, amount: 8 }, headers: key },
      422,
      'idempotency_key_reused',
    );
    await expectCall({ method: 'post', path: '/orders', body: { user_id: user, amount: 7 }, headers: key }, 201);
    await expectCall({ method: 'post', path: '/orders', body: { user_id: user, amount: 7 }, headers: key }, 201);
    await expectCall(
      { method: 'post', path: '/orders', body: { user_id: user, amount: 8 }, headers: key },
      422,
      'idempotency_key_reused',
    );

    const balance = (u: string): Call => ({
      method: 'get',
      path: '/payments/accounts/{user_id}/balance',
      url: `/payments/accounts/${u}/balance`,
    });
    await expectCall(balance(newUser('nobody')), 404, 'account_not_found');
    await expectCall(balance('not%20valid'), 400, 'invalid_field');
    await expectCall({ method: 'get', path: '/orders', url: '/orders' }, 400, 'missing_field');
    await expectCall({ method: 'get', path: '/orders', url: '/orders?user_id=' }, 400, 'missing_field');
    await expectCall({ method: 'get', path: '/orders', url: '/orders?user_id=not%20valid' }, 400, 'invalid_field');
    await expectCall(
      { method: 'get', path: '/orders/{id}', url: `/orders/${globalThis.crypto.randomUUID()}` },
      404,
      'order_not_found',
    );
    await expectCall({ method: 'get', path: '/orders/{id}', url: '/orders/not-a-uuid' }, 404, 'order_not_found');

    // Any other path under /orders or /payments: 404 not_found, in the catalogue's shape.
    for (const url of ['/orders/a/b', '/payments', '/payments/accounts/x']) {
      const res = await fetch(`${api}${url}`);
      const body = (await res.json()) as Json;
      expect(res.status, url).to.equal(404);
      const validate = validatorFor('Error', { $ref: '#/components/schemas/Error' });
      expect(validate(body), `${url}: ${errorsOf(validate)}`).to.equal(true);
      expect(at(body, 'error', 'code')).to.equal('not_found');
    }
    // A known path with a method it does not take: 405 method_not_allowed, with Allow.
    for (const [method, url] of [
      ['DELETE', '/orders'],
      ['PUT', '/payments/accounts/deposit'],
    ] as const) {
      const res = await fetch(`${api}${url}`, { method });
      const body = (await res.json()) as Json;
      expect(res.status, `${method} ${url}`).to.equal(405);
      expect(res.headers.get('allow'), `${method} ${url}`).to.be.a('string').and.not.equal('');
      const validate = validatorFor('Error', { $ref: '#/components/schemas/Error' });
      expect(validate(body), `${url}: ${errorsOf(validate)}`).to.equal(true);
      expect(at(body, 'error', 'code')).to.equal('method_not_allowed');
    }
    expect(logged).to.deep.equal([]);
  });

  it('refuses a deposit that would take the balance over 2^53 − 1 with 400 balance_too_large', async () => {
    const rich = await fundedUser(0);
    for (let i = 0; i < Math.floor(Number.MAX_SAFE_INTEGER / MAX_AMOUNT); i += 1) {
      await system.deposit.execute({ caller: null, userId: rich, amount: MAX_AMOUNT });
    }
    const { status, body } = await call({
      method: 'post',
      path: '/payments/accounts/deposit',
      body: { user_id: rich, amount: MAX_AMOUNT },
    });
    expect(status).to.equal(400);
    expect(at(body, 'error', 'code')).to.equal('balance_too_large');
    logged.length = 0;
  });

  const everyApiCall = (base: string): Call[] => [
    { base, method: 'post', path: '/payments/accounts', body: { user_id: 'u-1' } },
    { base, method: 'post', path: '/payments/accounts/deposit', body: { user_id: 'u-1', amount: 5 } },
    { base, method: 'get', path: '/payments/accounts/{user_id}/balance', url: '/payments/accounts/u-1/balance' },
    { base, method: 'post', path: '/orders', body: { user_id: 'u-1', amount: 5 } },
    { base, method: 'get', path: '/orders', url: '/orders?user_id=u-1' },
    { base, method: 'get', path: '/orders/{id}', url: `/orders/${globalThis.crypto.randomUUID()}` },
  ];

  it('answers 502, 503 and 500 as documented when a service or its dependencies fail', async () => {
    for (const c of everyApiCall(deadApi)) await expectCall(c, 503, 'upstream_unavailable');
    for (const c of everyApiCall(resetApi)) await expectCall(c, 502, 'bad_gateway');
    failure = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    for (const c of everyApiCall(brokenApi)) await expectCall(c, 503, 'service_unavailable');
    failure = new Error('boom');
    for (const c of everyApiCall(brokenApi)) await expectCall(c, 500, 'internal_error');
  });

  it('answers /healthz and /readyz on each process as documented; the gateway answers only for itself', async () => {
    for (const base of [direct.orders, direct.payments, direct.web, direct.gateway, direct.brokenOrders]) {
      await expectCall({ base, method: 'get', path: '/healthz' }, 200);
      await expectCall({ base, method: 'get', path: '/readyz' }, 200);
    }
    brokenReady = false;
    try {
      await expectCall({ base: direct.brokenOrders, method: 'get', path: '/readyz' }, 503, 'not_ready');
      await expectCall({ base: direct.brokenPayments, method: 'get', path: '/readyz' }, 503, 'not_ready');
      // Not forwarded: the gateway in front of the unready services is itself ready.
      await expectCall({ base: brokenApi, method: 'get', path: '/readyz' }, 200);
    } finally {
      brokenReady = true;
    }
  });

  describe('the documented request schemas accept exactly what the code accepts', () => {
    const requestSchema = (path: string) =>
      validatorFor(
        `request ${path}`,
        at(operation('post', path), 'requestBody', 'content', 'application/json', 'schema'),
      );
    const parameterSchema = (method: Method, path: string, name: string) => {
      const parameters = (at(operation(method, path), 'parameters') ?? []) as Json[];
      const parameter = parameters.map((p) => deref(p, name)).find((p) => p['name'] === name);
      expect(parameter, `${method} ${path} documents ${name}`).to.not.equal(undefined);
      return validatorFor(`parameter ${method} ${path} ${name}`, at(parameter, 'schema'));
    };
    const accepted = (status: number) => status !== 400;

    const userIds: unknown[] = ['a', 'A.b_c@d-9', 'x'.repeat(64), '', 'x'.repeat(65), 'a b', 'ü', 'a/b', 5, null];
    const amounts: unknown[] = [1, MAX_AMOUNT, 0, -1, 1.5, MAX_AMOUNT + 1, '5', null, true];
    const descriptions: unknown[] = [
      '',
      'a book',
      'x'.repeat(500),
      '😀'.repeat(500),
      'x'.repeat(501),
      '😀'.repeat(501),
      null,
      7,
      ['a'],
    ];

    it('POST /payments/accounts', async () => {
      const validate = requestSchema('/payments/accounts');
      const bodies: unknown[] = [...userIds.map((u) => ({ user_id: u })), {}, { user_id: newUser(), extra: 1 }];
      for (const body of bodies) {
        const { status } = await call({ method: 'post', path: '/payments/accounts', body });
        expect(validate(body), `${JSON.stringify(body).slice(0, 80)} → ${status}`).to.equal(accepted(status));
      }
    });

    it('POST /payments/accounts/deposit', async () => {
      const validate = requestSchema('/payments/accounts/deposit');
      const user = await fundedUser(0);
      const bodies: unknown[] = [
        ...userIds.map((u) => ({ user_id: u, amount: 1 })),
        ...amounts.map((amount) => ({ user_id: user, amount })),
        { user_id: user },
        { amount: 1 },
        { user_id: user, amount: 1, extra: 'ignored' },
      ];
      for (const body of bodies) {
        const { status } = await call({ method: 'post', path: '/payments/accounts/deposit', body });
        expect(validate(body), `${JSON.stringify(body).slice(0, 80)} → ${status}`).to.equal(accepted(status));
      }
    });

    it('POST /orders', async () => {
      const validate = requestSchema('/orders');
      const bodies: unknown[] = [
        ...userIds.map((u) => ({ user_id: u, amount: 1 })),
        ...amounts.map((amount) => ({ user_id: 'u', amount })),
        ...descriptions.map((description) => ({ user_id: 'u', amount: 1, description })),
        { user_id: 'u' },
        { amount: 1 },
        { user_id: 'u', amount: 1, extra: 'ignored' },
      ];
      for (const body of bodies) {
        const { status } = await call({ method: 'post', path: '/orders', body });
        expect(validate(body), `${JSON.stringify(body).slice(0, 80)} → ${status}`).to.equal(accepted(status));
      }
    });

    it('the Idempotency-Key header', async () => {
      const user = await fundedUser(0);
      const keys = ['k', 'k'.repeat(128), ' !~', 'a'.repeat(129), 'é', 'a\tb'];
      for (const path of ['/orders', '/payments/accounts/deposit']) {
        const validate = parameterSchema('post', path, 'Idempotency-Key');
        for (const key of keys) {
          const unique = key.length > 1 && key.length < 100 && /^[ -~]+$/.test(key) ? `${key}${newUser()}` : key;
          const { status } = await call({
            method: 'post',
            path,
            body: { user_id: user, amount: 1 },
            headers: { 'idempotency-key': unique },
          });
          expect(validate(unique), `${path} Idempotency-Key ${JSON.stringify(unique)} → ${status}`).to.equal(
            accepted(status),
          );
        }
      }
    });

    it('the user_id parameters of GET /orders and GET /payments/accounts/{user_id}/balance', async () => {
      const list = parameterSchema('get', '/orders', 'user_id');
      const balance = parameterSchema('get', '/payments/accounts/{user_id}/balance', 'user_id');
      for (const user of userIds.filter((u): u is string => typeof u === 'string' && u !== '' && !u.includes('/'))) {
        const encoded = encodeURIComponent(user);
        const listed = await call({ method: 'get', path: '/orders', url: `/orders?user_id=${encoded}` });
        expect(list(user), `GET /orders?user_id=${user} → ${listed.status}`).to.equal(accepted(listed.status));
        const got = await call({
          method: 'get',
          path: '/payments/accounts/{user_id}/balance',
          url: `/payments/accounts/${encoded}/balance`,
        });
        expect(balance(user), `balance of ${user} → ${got.status}`).to.equal(accepted(got.status));
      }
    });
  });

  it('produced every documented status and error code of every operation (needs the tests above)', () => {
    const missing: string[] = [];
    for (const [method, path] of OPERATIONS) {
      const key = `${method} ${path}`;
      for (const [status, response] of Object.entries(obj(at(operation(method, path), 'responses'), key))) {
        const codes = seen.get(key)?.get(Number(status));
        if (!codes) {
          missing.push(`${key} ${status}`);
          continue;
        }
        for (const code of documentedCodes(deref(response, `${key} ${status}`))) {
          if (!codes.has(code) && !NOT_PROVOKED.has(code)) missing.push(`${key} ${status} ${code}`);
        }
      }
    }
    expect(missing, 'documented but never answered').to.deep.equal([]);
    const catalogue = new Set(
      documentedCodes({
        content: { 'application/json': { schema: at(spec, 'components', 'schemas', 'Error') ?? null } },
      }),
    );
    const answered = [...seen.values()].flatMap((statuses) => [...statuses.values()].flatMap((codes) => [...codes]));
    expect(
      [...new Set(answered)].filter((code) => !catalogue.has(code)),
      'codes missing from the Error catalogue',
    ).to.deep.equal([]);
  });
});
