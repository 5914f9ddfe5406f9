import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createServer, type RequestListener, type Server } from 'node:http';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { parse } from 'yaml';
import { pino } from 'pino';
import { InMemorySystem } from '@gozon/adapters/in-memory';
import { MAX_AMOUNT } from '@gozon/core';
import { createGatewayApp, type GatewayEdge } from '../gateway/gateway-app.js';
import { GatewayRateLimits } from '../gateway/rate-limits.js';
import { createOrdersApp, type OrdersUseCases } from '../orders/orders-app.js';
import { createPaymentsApp, type PaymentsUseCases } from '../payments/payments-app.js';
import { authenticate } from '../auth/bearer.js';
import { TestIssuer } from '../auth/test-issuer.spec.helper.js';
import { TokenVerifier } from '../auth/verifier.js';
import { createWebApp } from '../web/web-app.js';

/*
 * Keeps docs/openapi.yaml true to the code: every answer the real apps give (through the real
 * gateway, on the in-memory harness, with identity on as the system runs) must be a status the
 * spec documents for that operation, with a body valid against the documented schema and the
 * documented headers; every documented status and error code must be produced by some request
 * here; and the documented request schemas must accept exactly the bodies and parameters the code
 * accepts.
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

const silent = pino({ level: 'silent' });

/** A token check of `issuer` as every process makes one (`auth/identity.ts`). */
const verifierOf = (issuer: string) =>
  new TokenVerifier({ issuer, audience: 'gozon', userClaim: 'sub', timeoutMs: 1_000 });

describe('docs/openapi.yaml matches what the apps answer (in-memory use cases, through the gateway)', function () {
  this.timeout(20_000);
  let system: InMemorySystem;
  let issuer: TestIssuer;
  /** An administrator's access token: the calls that name their users send it unless told otherwise. */
  let admin = '';
  const servers: Server[] = [];
  const logged: unknown[] = [];
  /** The real gateway in front of the real apps, all checking tokens of the test issuer. */
  let api = '';
  /** The same without identity (`GOZON_AUTH=none`): requests name their users, with no token. */
  let openApi = '';
  /** A gateway that cannot fetch the issuer's keys: 503 auth_unavailable. */
  let noKeysApi = '';
  /** A gateway in front of services that cannot fetch the issuer's keys: 503 auth_unavailable from them. */
  let noKeysServicesApi = '';
  /** A gateway whose services do not listen: 503 upstream_unavailable. */
  let deadApi = '';
  /** A gateway whose services reset every connection: 502 bad_gateway. */
  let resetApi = '';
  /** A gateway in front of apps whose use cases throw `failure`: 500 or 503 service_unavailable. */
  let brokenApi = '';
  /** A gateway with a budget of one request per user: 429 rate_limited after the first. */
  let limitedApi = '';
  /** A gateway with no room for a request to any upstream: 503 upstream_busy. */
  let busyApi = '';
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
  /** The gateway as `gozon gateway` runs it: it checks the token (unless `keys` is null) and proxies. */
  const gateway = async (
    ordersUrl: string,
    paymentsUrl: string,
    keys: string | null = issuer.issuer,
    edge: GatewayEdge = {},
  ) => {
    const { app, agent } = createGatewayApp({ ordersUrl, paymentsUrl, webUrl: direct.web }, undefined, undefined, {
      api: [authenticate(keys === null ? null : verifierOf(keys))],
      edge,
    });
    const url = await listen(app.callback());
    servers.at(-1)!.on('close', () => agent.destroy());
    return url;
  };
  /** The orders and payments apps on `useCases`, each checking tokens itself (unless `keys` is null). */
  const services = async (
    useCases: OrdersUseCases & PaymentsUseCases,
    keys: string | null,
    extra: { ready?: () => Promise<boolean>; logError?: (err: unknown) => void } = {},
  ) => {
    const options = () => ({
      ready: extra.ready ?? (async () => true),
      logError: extra.logError ?? (() => undefined),
      authenticate: authenticate(keys === null ? null : verifierOf(keys)),
    });
    return {
      orders: await listen(createOrdersApp(useCases, options()).callback()),
      payments: await listen(createPaymentsApp(useCases, options()).callback()),
    };
  };
  /** An access token of `user`, an administrator's with `gozon:admin`. */
  const tokenOf = (user: string, scope = 'openid') => issuer.sign({ sub: user, scope });

  before(async () => {
    system = new InMemorySystem();
    await system.start();
    issuer = await TestIssuer.start();
    admin = await tokenOf('support', 'openid gozon:admin');
    direct.web = await listen(createWebApp().callback());
    const real = await services(system, issuer.issuer, { logError: (err) => logged.push(err) });
    direct.orders = real.orders;
    direct.payments = real.payments;
    api = await gateway(direct.orders, direct.payments);
    direct.gateway = api;
    const open = await services(system, null, { logError: (err) => logged.push(err) });
    openApi = await gateway(open.orders, open.payments, null);

    const dead = await listen(() => undefined);
    await new Promise((resolve) => servers.pop()!.close(resolve));
    deadApi = await gateway(dead, dead);
    // No issuer answers there: its keys cannot be fetched.
    const deadIssuer = `${dead}/issuer`;
    noKeysApi = await gateway(direct.orders, direct.payments, deadIssuer);
    const noKeys = await services(system, deadIssuer);
    noKeysServicesApi = await gateway(noKeys.orders, noKeys.payments);

    const reset = await listen((req) => req.socket.destroy());
    resetApi = await gateway(reset, reset);

    const fail = { execute: async () => Promise.reject(failure) };
    const broken = await services(
      { placeOrder: fail, getOrder: fail, listOrders: fail, createAccount: fail, deposit: fail, getBalance: fail },
      issuer.issuer,
      { ready: async () => brokenReady },
    );
    direct.brokenOrders = broken.orders;
    direct.brokenPayments = broken.payments;
    brokenApi = await gateway(direct.brokenOrders, direct.brokenPayments);
    const limits = GatewayRateLimits.open(
      { perAddress: 0, perUser: 1, windowSeconds: 60, redisUrl: undefined },
      silent,
    );
    limitedApi = await gateway(direct.orders, direct.payments, issuer.issuer, { byUser: limits.byUser });
    busyApi = await gateway(direct.orders, direct.payments, issuer.issuer, { maxInFlightPerUpstream: 0 });
  });

  after(async () => {
    await Promise.all(
      servers.map((s) => {
        s.closeAllConnections();
        return new Promise((resolve) => s.close(resolve));
      }),
    );
    await issuer.close();
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
    /** The access token to send: an administrator's unless said otherwise; `null` sends none. */
    readonly token?: string | null;
  }

  /** Sends a request and checks its answer against the spec; returns status, parsed body and headers. */
  const call = async (c: Call): Promise<{ status: number; body: Json; headers: Headers }> => {
    const op = operation(c.method, c.path);
    const hasBody = c.body !== undefined;
    const token = c.token === undefined ? admin : c.token;
    const res = await fetch(`${c.base ?? api}${c.url ?? c.path}`, {
      method: c.method.toUpperCase(),
      headers: {
        ...(hasBody ? { 'content-type': 'application/json' } : {}),
        ...(token === null ? {} : { authorization: `Bearer ${token}` }),
        ...c.headers,
      },
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
      const required = at(deref(definition, header), 'required') === true;
      expect(value !== null || !required, `${name}: documented header ${header} is missing`).to.equal(true);
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
    return { status: res.status, body, headers: res.headers };
  };
  /** A call that must answer `status` (and `code`, for an error). */
  const expectCall = async (c: Call, status: number, code?: string): Promise<Json> =>
    (await expectAnswer(c, status, code)).body;
  /** The same, answering the headers too. */
  const expectAnswer = async (c: Call, status: number, code?: string) => {
    const answer = await call(c);
    expect(answer.status, `${c.method} ${c.url ?? c.path}: ${JSON.stringify(answer.body)}`).to.equal(status);
    if (code) expect(at(answer.body, 'error', 'code')).to.equal(code);
    return answer;
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
      // With identity a left-out user_id is the caller; without (GOZON_AUTH=none) it is required.
      await expectCall({ ...post({ amount: 5 }), base: openApi, token: null }, 400, 'missing_field');
      if (path !== '/payments/accounts') await expectCall(post({ user_id: newUser() }), 400, 'missing_field');
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
    for (const url of ['/orders', '/orders?user_id=']) {
      await expectCall({ method: 'get', path: '/orders', url, base: openApi, token: null }, 400, 'missing_field');
      // With identity: the caller's own orders.
      await expectCall({ method: 'get', path: '/orders', url }, 200);
    }
    await expectCall({ method: 'get', path: '/orders', url: '/orders?user_id=not%20valid' }, 400, 'invalid_field');
    await expectCall(
      { method: 'get', path: '/orders/{id}', url: `/orders/${globalThis.crypto.randomUUID()}` },
      404,
      'order_not_found',
    );
    await expectCall({ method: 'get', path: '/orders/{id}', url: '/orders/not-a-uuid' }, 404, 'order_not_found');
    await expectCall({ method: 'get', path: '/orders/{id}', url: '/orders/a%1Bb' }, 400, 'invalid_field');

    // Any other path under /orders or /payments: 404 not_found, in the catalogue's shape.
    const authorization = { authorization: `Bearer ${admin}` };
    const catalogue = validatorFor('Error', { $ref: '#/components/schemas/Error' });
    for (const url of ['/orders/a/b', '/payments', '/payments/accounts/x']) {
      const res = await fetch(`${api}${url}`, { headers: authorization });
      const body = (await res.json()) as Json;
      expect(res.status, url).to.equal(404);
      expect(catalogue(body), `${url}: ${errorsOf(catalogue)}`).to.equal(true);
      expect(at(body, 'error', 'code')).to.equal('not_found');
      // Identity comes first: without a token, the path is not even looked at.
      const anonymous = await fetch(`${api}${url}`);
      expect(anonymous.status, url).to.equal(401);
      expect(at((await anonymous.json()) as Json, 'error', 'code')).to.equal('unauthorized');
    }
    // A known path with a method it does not take: 405 method_not_allowed, with Allow.
    for (const [method, url] of [
      ['DELETE', '/orders'],
      ['PUT', '/payments/accounts/deposit'],
    ] as const) {
      const res = await fetch(`${api}${url}`, { method, headers: authorization });
      const body = (await res.json()) as Json;
      expect(res.status, `${method} ${url}`).to.equal(405);
      expect(res.headers.get('allow'), `${method} ${url}`).to.be.a('string').and.not.equal('');
      expect(catalogue(body), `${url}: ${errorsOf(catalogue)}`).to.equal(true);
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

  it('answers 429 rate_limited and 503 upstream_busy with Retry-After at the limits of the gateway', async () => {
    // The budget's one request, on a read that changes nothing.
    await call(everyApiCall(limitedApi).at(-1)!);
    for (const c of everyApiCall(limitedApi)) {
      const { headers } = await expectAnswer(c, 429, 'rate_limited');
      expect(headers.get('retry-after'), `${c.method} ${c.path}`).to.match(/^[1-9]\d*$/);
    }
    for (const c of everyApiCall(busyApi)) {
      const { headers } = await expectAnswer(c, 503, 'upstream_busy');
      expect(headers.get('retry-after'), `${c.method} ${c.path}`).to.equal('1');
    }
  });

  it('answers 502, 503 and 500 as documented when a service or its dependencies fail', async () => {
    for (const c of everyApiCall(deadApi)) await expectCall(c, 503, 'upstream_unavailable');
    for (const c of everyApiCall(resetApi)) await expectCall(c, 502, 'bad_gateway');
    failure = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    for (const c of everyApiCall(brokenApi)) await expectCall(c, 503, 'service_unavailable');
    failure = new Error('boom');
    for (const c of everyApiCall(brokenApi)) await expectCall(c, 500, 'internal_error');
  });

  it('documents bearer tokens on every API operation, and none on the probes', () => {
    expect(at(spec, 'components', 'securitySchemes', 'bearerAuth')).to.include({
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
    });
    expect(spec['security']).to.deep.equal([{ bearerAuth: [] }]);
    for (const [method, path] of OPERATIONS) {
      const op = operation(method, path);
      if (path === '/healthz' || path === '/readyz') {
        expect(op['security'], `${method} ${path}`).to.deep.equal([]);
      } else {
        expect(op['security'], `${method} ${path} keeps the API's security`).to.equal(undefined);
        expect(at(op, 'responses', '401'), `${method} ${path} documents 401`).to.not.equal(undefined);
      }
    }
  });

  it('answers 401 with the Bearer challenge without a valid token, at the gateway and at each service', async () => {
    const other = await TestIssuer.start();
    const foreign = await other.sign({ sub: 'mallory', scope: 'gozon:admin' });
    await other.close();
    const now = Math.floor(Date.now() / 1000);
    const expired = await issuer.sign({ sub: 'alice', exp: now - 3600 });
    const elsewhere = await issuer.sign({ sub: 'alice', aud: 'another-api' });
    const service = (c: Call): Call => ({ ...c, base: c.path.startsWith('/orders') ? direct.orders : direct.payments });
    for (const c of [...everyApiCall(api), ...everyApiCall(api).map(service)]) {
      const bare = await expectAnswer({ ...c, token: null }, 401, 'unauthorized');
      expect(bare.headers.get('www-authenticate')).to.equal('Bearer realm="gozon"');
      for (const token of ['not-a-jwt', foreign, expired, elsewhere]) {
        const refused = await expectAnswer({ ...c, token }, 401, 'unauthorized');
        expect(refused.headers.get('www-authenticate')).to.equal('Bearer realm="gozon", error="invalid_token"');
      }
      await expectCall(
        { ...c, token: null, headers: { authorization: 'Basic YWxpY2U6c2VjcmV0' } },
        401,
        'unauthorized',
      );
    }
    // Nothing was done: u-1, whom every refused request named, has no account and no orders.
    await expectCall(
      { method: 'get', path: '/payments/accounts/{user_id}/balance', url: '/payments/accounts/u-1/balance' },
      404,
      'account_not_found',
    );
    expect(await expectCall({ method: 'get', path: '/orders', url: '/orders?user_id=u-1' }, 200)).to.deep.equal([]);
  });

  it('acts as the caller: user_id left out is the caller; another user is 403, and their order 404', async () => {
    const alice = newUser('alice');
    const bob = newUser('bob');
    const asAlice = await tokenOf(alice);
    const asBob = await tokenOf(bob);
    const accounts = { method: 'post', path: '/payments/accounts', token: asAlice } as const;
    const deposit = { method: 'post', path: '/payments/accounts/deposit', token: asAlice } as const;
    const balance = (u: string, token: string): Call => ({
      method: 'get',
      path: '/payments/accounts/{user_id}/balance',
      url: `/payments/accounts/${u}/balance`,
      token,
    });

    expect(await expectCall({ ...accounts, body: {} }, 201)).to.deep.equal({ user_id: alice, balance: 0 });
    await expectCall({ ...accounts, body: { user_id: alice } }, 409, 'account_exists');
    await expectCall({ ...accounts, body: { user_id: bob } }, 403, 'forbidden');
    expect(await expectCall({ ...deposit, body: { amount: 300 } }, 200)).to.deep.equal({
      user_id: alice,
      balance: 300,
    });
    await expectCall({ ...deposit, body: { user_id: alice, amount: 200 } }, 200);
    await expectCall({ ...deposit, body: { user_id: bob, amount: 300 } }, 403, 'forbidden');
    expect(await expectCall(balance(alice, asAlice), 200)).to.deep.equal({ user_id: alice, balance: 500 });
    // Bob has no account, and Alice does not learn even that.
    await expectCall(balance(bob, asAlice), 403, 'forbidden');

    const placed = await expectCall({ method: 'post', path: '/orders', body: { amount: 100 }, token: asAlice }, 201);
    expect(at(placed, 'user_id')).to.equal(alice);
    await expectCall(
      { method: 'post', path: '/orders', body: { user_id: bob, amount: 100 }, token: asAlice },
      403,
      'forbidden',
    );
    const own = await expectCall({ method: 'get', path: '/orders', url: '/orders', token: asAlice }, 200);
    expect((own as Json[]).map((o) => at(o, 'id'))).to.deep.equal([at(placed, 'id')]);
    await expectCall(
      { method: 'get', path: '/orders', url: `/orders?user_id=${bob}`, token: asAlice },
      403,
      'forbidden',
    );
    const byId = (token: string): Call => ({
      method: 'get',
      path: '/orders/{id}',
      url: `/orders/${String(at(placed, 'id'))}`,
      token,
    });
    await expectCall(byId(asAlice), 200);
    await expectCall(byId(asBob), 404, 'order_not_found');
    await expectCall(byId(admin), 200);

    // The refused requests changed nothing.
    await system.settle();
    await expectCall(balance(bob, admin), 404, 'account_not_found');
    expect(await expectCall({ method: 'get', path: '/orders', url: `/orders?user_id=${bob}` }, 200)).to.deep.equal([]);
    expect(await expectCall(balance(alice, asAlice), 200)).to.deep.equal({ user_id: alice, balance: 400 });
  });

  it('keeps idempotency keys per caller: two callers with the same key never meet', async () => {
    const key = { 'idempotency-key': newUser('shared-key') };
    const [alice, bob] = [newUser('alice'), newUser('bob')];
    const [asAlice, asBob] = [await tokenOf(alice), await tokenOf(bob)];
    for (const token of [asAlice, asBob]) {
      await expectCall({ method: 'post', path: '/payments/accounts', body: {}, token }, 201);
    }
    const deposit = (token: string, amount: number, user?: string): Call => ({
      method: 'post',
      path: '/payments/accounts/deposit',
      body: user ? { user_id: user, amount } : { amount },
      headers: key,
      token,
    });
    expect(await expectCall(deposit(asAlice, 10), 200)).to.deep.equal({ user_id: alice, balance: 10 });
    expect(await expectCall(deposit(asBob, 20), 200)).to.deep.equal({ user_id: bob, balance: 20 });
    // An administrator's keys are its own, whichever user it names.
    expect(await expectCall(deposit(admin, 30, alice), 200)).to.deep.equal({ user_id: alice, balance: 40 });
    await expectCall(deposit(asAlice, 11), 422, 'idempotency_key_reused');
    const order = (token: string, amount: number): Call => ({
      method: 'post',
      path: '/orders',
      body: { amount },
      headers: key,
      token,
    });
    const first = await expectCall(order(asAlice, 1), 201);
    const second = await expectCall(order(asBob, 2), 201);
    expect(at(second, 'id')).to.not.equal(at(first, 'id'));
    expect(await expectCall(order(asAlice, 1), 201)).to.deep.equal(first);
    await expectCall(order(asBob, 3), 422, 'idempotency_key_reused');
  });

  it('pages GET /orders by limit and cursor, each page linking to the next as documented', async () => {
    const user = newUser('pager');
    const token = await tokenOf(user);
    for (const amount of [1, 2, 3, 4, 5]) {
      await expectCall({ method: 'post', path: '/orders', body: { amount }, token }, 201);
    }
    const pages: string[][] = [];
    for (let url: string | undefined = '/orders?limit=2'; url !== undefined;) {
      const { body, headers } = await expectAnswer({ method: 'get', path: '/orders', url, token }, 200);
      pages.push((body as Json[]).map((o) => String(at(o, 'id'))));
      url = /^<([^>]+)>; rel="next"$/.exec(headers.get('link') ?? '')?.[1];
      expect(pages.length).to.be.below(5);
    }
    expect(pages.map((p) => p.length)).to.deep.equal([2, 2, 1]);
    const whole = (await expectCall({ method: 'get', path: '/orders', url: '/orders', token }, 200)) as Json[];
    expect(pages.flat()).to.deep.equal(whole.map((o) => String(at(o, 'id'))));
    // The link keeps the user an administrator named, and the limit.
    const named = await expectAnswer({ method: 'get', path: '/orders', url: `/orders?user_id=${user}&limit=4` }, 200);
    expect(named.headers.get('link')).to.match(
      new RegExp(`^</orders\\?user_id=${user}&limit=4&cursor=[\\w-]+>; rel="next"$`),
    );
    expect(whole.length, 'the default limit holds all five').to.equal(5);
  });

  it('refuses a limit out of range and a cursor it did not give out with 400 invalid_field naming the field', async () => {
    const cursor = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const limits = ['0', '-1', '1.5', '201', '', 'abc', '1e2'];
    const cursors = [
      '',
      '%25%25',
      'bm90IGpzb24',
      cursor([1]),
      cursor({ created_at: 'yesterday', id: '0b7f3c9e-5a1d-4c2b-9f3e-2d6a8b1c4e70' }),
      cursor({ created_at: '2026-01-01T12:00:00.000000Z', id: "1' OR '1'='1" }),
      'x'.repeat(201),
    ];
    const bad = [...limits.map((l) => ['limit', `limit=${l}`]), ...cursors.map((c) => ['cursor', `cursor=${c}`])];
    for (const [field, query] of bad) {
      const body = await expectCall({ method: 'get', path: '/orders', url: `/orders?${query}` }, 400, 'invalid_field');
      expect(String(at(body, 'error', 'message')), query).to.match(new RegExp(`^${field!} `));
    }
  });

  it("answers 503 auth_unavailable with Retry-After while the issuer's keys cannot be fetched", async () => {
    // The gateway cannot check the token; or it can, and the services behind it cannot.
    for (const c of [...everyApiCall(noKeysApi), ...everyApiCall(noKeysServicesApi)]) {
      const { headers } = await expectAnswer(c, 503, 'auth_unavailable');
      expect(headers.get('retry-after'), `${c.method} ${c.path}`).to.match(/^\d+$/);
    }
  });

  it('answers /healthz and /readyz on each process as documented, without a token; the gateway answers only for itself', async () => {
    for (const base of [direct.orders, direct.payments, direct.web, direct.gateway, direct.brokenOrders]) {
      await expectCall({ base, method: 'get', path: '/healthz', token: null }, 200);
      await expectCall({ base, method: 'get', path: '/readyz', token: null }, 200);
    }
    brokenReady = false;
    try {
      await expectCall({ base: direct.brokenOrders, method: 'get', path: '/readyz', token: null }, 503, 'not_ready');
      await expectCall({ base: direct.brokenPayments, method: 'get', path: '/readyz', token: null }, 503, 'not_ready');
      // Not forwarded: the gateway in front of the unready services is itself ready.
      await expectCall({ base: brokenApi, method: 'get', path: '/readyz', token: null }, 200);
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

    const userIds: unknown[] = [
      ...['a', 'A.b_c@d-9', 'x'.repeat(64), '', 'x'.repeat(65), 'a b', 'ü', 'a/b', 5, null],
      ...['.', '..', '...', 'a.', '.a', 'a\u001bb', 'a\u0000b', 'a\u0085b', 'a\ud800b'],
    ];
    const amounts: unknown[] = [1, MAX_AMOUNT, 0, -1, 1.5, MAX_AMOUNT + 1, '5', null, true];
    const descriptions: unknown[] = [
      '',
      'a book',
      'x'.repeat(500),
      '😀'.repeat(500),
      'x'.repeat(501),
      '😀'.repeat(501),
      ...['a\tb', 'a\nb', 'a\u0000b', 'a\u001bb', 'a\u007fb', 'a\u0085b', 'a\u009fb', 'a\ud800b', 'a\udc00b'],
      'a\u00a0b',
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
      const keys = ['k', 'k'.repeat(128), ' !~', 'a'.repeat(129), 'é', 'a\tb', '', ' ', '    '];
      for (const path of ['/orders', '/payments/accounts/deposit']) {
        const validate = parameterSchema('post', path, 'Idempotency-Key');
        for (const key of keys) {
          const unique =
            key.length > 1 && key.length < 100 && /^[ -~]+$/.test(key) && key.trim() !== ''
              ? `${key}${newUser()}`
              : key;
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

    it('the limit parameter of GET /orders', async () => {
      const validate = parameterSchema('get', '/orders', 'limit');
      for (const limit of ['1', '50', '200', '050', '0', '-1', '1.5', '201', '', 'abc', '1e2']) {
        const { status } = await call({ method: 'get', path: '/orders', url: `/orders?limit=${limit}` });
        const value = /^\d+$/.test(limit) ? Number(limit) : limit;
        expect(validate(value), `GET /orders?limit=${limit} → ${status}`).to.equal(accepted(status));
      }
    });

    it('the user_id parameters of GET /orders and GET /payments/accounts/{user_id}/balance', async () => {
      const list = parameterSchema('get', '/orders', 'user_id');
      const balance = parameterSchema('get', '/payments/accounts/{user_id}/balance', 'user_id');
      // A lone surrogate cannot be put in a URL at all (no UTF-8 for it): bodies carry that case.
      const sendable = (u: unknown): u is string =>
        typeof u === 'string' && u !== '' && !u.includes('/') && !/[\ud800-\udfff]/u.test(u);
      for (const user of userIds.filter(sendable)) {
        const encoded = encodeURIComponent(user);
        const listed = await call({ method: 'get', path: '/orders', url: `/orders?user_id=${encoded}` });
        expect(list(user), `GET /orders?user_id=${user} → ${listed.status}`).to.equal(accepted(listed.status));
        // fetch resolves dot segments (even as %2E) before sending: such a path never reaches a route.
        if (/^\.+$/.test(user)) continue;
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
