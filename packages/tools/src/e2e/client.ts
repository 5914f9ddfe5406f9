import { expect } from 'chai';

export interface Order {
  id: string;
  user_id: string;
  amount: number;
  description: string;
  status: 'NEW' | 'FINISHED' | 'CANCELLED';
  created_at: string;
  updated_at: string;
  failure_reason?: string;
}

/** A small client of the public API, as a user would call it through the gateway. */
export class GozonClient {
  constructor(
    readonly base: string,
    /** The access token every request carries (none: requests go without one). */
    readonly token?: string,
  ) {}

  /** The same API, asked with another token (or none). */
  as(token: string | undefined): GozonClient {
    return new GozonClient(this.base, token);
  }

  private get authorization(): Record<string, string> {
    return this.token ? { authorization: `Bearer ${this.token}` } : {};
  }

  post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
    return fetch(`${this.base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...this.authorization, ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  }

  get(path: string, headers: Record<string, string> = {}): Promise<Response> {
    return fetch(`${this.base}${path}`, { headers: { ...this.authorization, ...headers } });
  }

  async json<T>(res: Promise<Response> | Response, status: number): Promise<T> {
    const response = await res;
    const text = await response.text();
    expect(response.status, text).to.equal(status);
    return JSON.parse(text) as T;
  }

  async fundedUser(amount: number): Promise<string> {
    const user = `u-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
    await this.json(this.post('/payments/accounts', { user_id: user }), 201);
    if (amount > 0) await this.json(this.post('/payments/accounts/deposit', { user_id: user, amount }), 200);
    return user;
  }

  order(user: string, amount: number, headers: Record<string, string> = {}): Promise<Order> {
    return this.json<Order>(this.post('/orders', { user_id: user, amount, description: 'e2e' }, headers), 201);
  }

  balance(user: string): Promise<number> {
    return this.json<{ balance: number }>(this.get(`/payments/accounts/${user}/balance`), 200).then((a) => a.balance);
  }

  getOrder(id: string): Promise<Order> {
    return this.json<Order>(this.get(`/orders/${id}`), 200);
  }

  /** Waits until none of `ids` is NEW and returns them all. */
  async final(ids: string[], timeoutMs = 20_000): Promise<Order[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const orders = await Promise.all(ids.map((id) => this.getOrder(id)));
      if (orders.every((o) => o.status !== 'NEW')) return orders;
      if (Date.now() > deadline) {
        throw new Error(`${orders.filter((o) => o.status === 'NEW').length} orders still NEW after ${timeoutMs} ms`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async expectError(res: Promise<Response> | Response, status: number, code: string, mentions?: string): Promise<void> {
    const body = await this.json<{ error: { code: string; message: string } }>(res, status);
    expect(Object.keys(body)).to.deep.equal(['error']);
    expect(body.error.code).to.equal(code);
    expect(body.error.message)
      .to.be.a('string')
      .and.not.match(/\n\s+at |SELECT|INSERT|postgres:\/\/|amqp:\/\//);
    if (mentions) expect(body.error.message).to.contain(mentions);
  }
}
