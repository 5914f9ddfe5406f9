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

/** Calls `listener(service, up)` after every request: whether its service answered. */
export const onAvailability = (listener) => listeners.add(listener);

const call = async (method, path, { body, key } = {}) => {
  const service = path.startsWith('/orders') ? 'orders' : 'payments';
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (key) headers['idempotency-key'] = key;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
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
  if (!response.ok) {
    const error = payload?.error ?? {};
    throw new ApiError(response.status, error.code ?? 'http_error', error.message ?? `failed (${response.status})`);
  }
  return payload;
};

const user = (id) => encodeURIComponent(id);

export const api = {
  createAccount: (userId) => call('POST', '/payments/accounts', { body: { user_id: userId } }),
  deposit: (userId, amount, key) =>
    call('POST', '/payments/accounts/deposit', { body: { user_id: userId, amount }, key }),
  balance: (userId) => call('GET', `/payments/accounts/${user(userId)}/balance`),
  placeOrder: (userId, amount, description, key) =>
    call('POST', '/orders', { body: { user_id: userId, amount, description }, key }),
  orders: (userId) => call('GET', `/orders?user_id=${user(userId)}`),
};
