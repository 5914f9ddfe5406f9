/** A failure the API answered, in the contract's shape: `{"error": {"code", "message"}}`. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** No answer, or the gateway says the service behind it is down (502, 503, 504). */
export class Unavailable extends Error {
  constructor(service) {
    super(`the ${service} service is not answering`);
    this.service = service;
  }
}

const TIMEOUT_MS = 10_000;
const listeners = new Set();
const signedOutListeners = new Set();

/** Calls `listener(service, up)` after every request: whether its service answered. */
export const onAvailability = (listener) => listeners.add(listener);

/** Calls `listener()` when the API says the caller is not signed in (401): the session ended. */
export const onSignedOut = (listener) => signedOutListeners.add(listener);

/**
 * Who the API calls act for. Signed in (`oidc`), the session cookie proves it and writes carry the
 * session's CSRF token; the caller is the user, so no `user_id` is sent. With `GOZON_AUTH=none`
 * the page names the user in every request, as it always did.
 */
const identity = { mode: 'oidc', csrfToken: null };

/** Sets how the API calls prove who is asking: `{ mode: 'oidc', csrfToken }` or `{ mode: 'none' }`. */
export const useIdentity = ({ mode, csrfToken = null }) => Object.assign(identity, { mode, csrfToken });

/** Sends a request; answers its JSON body and its `Link` header (null when there is none). */
const request = async (method, path, { body, key } = {}) => {
  const service = path.startsWith('/orders') ? 'orders' : 'payments';
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (key) headers['idempotency-key'] = key;
  if (method !== 'GET' && identity.csrfToken) headers['x-csrf-token'] = identity.csrfToken;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch {
    listeners.forEach((listener) => listener(service, false));
    throw new Unavailable(service);
  }
  const up = ![502, 503, 504].includes(response.status);
  listeners.forEach((listener) => listener(service, up));
  if (!up) throw new Unavailable(service);
  const payload = await response.json().catch(() => null);
  if (response.status === 401) signedOutListeners.forEach((listener) => listener());
  if (!response.ok) {
    const error = payload?.error ?? {};
    throw new ApiError(response.status, error.code ?? 'http_error', error.message ?? `failed (${response.status})`);
  }
  return { payload, link: response.headers.get('link') };
};

const call = async (...args) => (await request(...args)).payload;

/**
 * The target of a `rel="next"` link, if it is a path on this origin under /orders: the page
 * follows only links it can call with its session, never one to elsewhere.
 */
const nextOf = (link) => {
  const target = /<([^>]*)>\s*;\s*rel="?next"?/.exec(link ?? '')?.[1];
  return target && /^\/orders[/?]/.test(target) ? target : null;
};

/** A page of orders: `{ orders, next }`, `next` the path of the page after it, or null. */
const ordersPage = async (path) => {
  const { payload, link } = await request('GET', path);
  return { orders: payload, next: nextOf(link) };
};

const user = (id) => encodeURIComponent(id);

/** `body` with the user named in it, only where the caller is not already the user. */
const naming = (userId, body) => (identity.mode === 'none' ? { user_id: userId, ...body } : body);

export const api = {
  createAccount: (userId) => call('POST', '/payments/accounts', { body: naming(userId, {}) }),
  deposit: (userId, amount, key) =>
    call('POST', '/payments/accounts/deposit', { body: naming(userId, { amount }), key }),
  balance: (userId) => call('GET', `/payments/accounts/${user(userId)}/balance`),
  placeOrder: (userId, amount, description, key) =>
    call('POST', '/orders', { body: naming(userId, { amount, description }), key }),
  /** The first page of the user's orders, newest first. */
  orders: (userId) => ordersPage(identity.mode === 'none' ? `/orders?user_id=${user(userId)}` : '/orders'),
  /** The page a previous one's `next` names. */
  moreOrders: (next) => ordersPage(next),
};

const sessionFetch = (method, path, headers = {}) =>
  fetch(path, {
    method,
    headers: { accept: 'application/json', ...headers },
    credentials: 'same-origin',
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });

/** The browser's session at the gateway, which holds the tokens; the page only has its cookie. */
export const session = {
  /**
   * `{ user_id, csrf_token, expires_at }` when signed in, `{ auth: 'none' }` when the system runs
   * without identity, null when signed out; throws Unavailable when the gateway does not answer.
   */
  current: async () => {
    let response;
    try {
      response = await sessionFetch('GET', '/session');
    } catch {
      throw new Unavailable('sign-in');
    }
    // Read to the end even when refused: a navigation right after would otherwise cut it off.
    const body = await response.text().catch(() => '');
    if (response.status === 401) return null;
    if (!response.ok) throw new Unavailable('sign-in');
    return JSON.parse(body);
  },
  /** Ends the session (its CSRF token proves the page asks, not another site). */
  signOut: async () => {
    const response = await sessionFetch('POST', '/session/logout', { 'x-csrf-token': identity.csrfToken ?? '' });
    // Read to the end: the page reloads right after, which would otherwise cut the answer off.
    await response.text().catch(() => '');
    if (!response.ok && response.status !== 401)
      throw new ApiError(response.status, 'sign_out_failed', 'Signing out failed; try again.');
  },
};
