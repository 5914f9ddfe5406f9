import { chromium, type Browser, type Page, type Request } from 'playwright-core';

/** Debian's Chromium, driven headless; no browser is ever downloaded. */
export const launchChromium = (): Promise<Browser> =>
  chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Reads `read()` until `done` holds, failing with the last value seen after `timeoutMs`. */
export const until = async <T>(
  what: string,
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 20_000,
): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(value)} after ${timeoutMs} ms`);
    await sleep(50);
  }
};

export interface ShownOrder {
  id: string;
  status: string;
  badge: string;
  amount: string;
  description: string;
  reason: string | null;
}

/** What the page shows and does, as a person would use it. */
export class WebPage {
  /** Console errors and warnings, page errors, failed requests and answers of 400 or more. */
  readonly problems: string[] = [];
  /** Every request the page sent to the API. */
  readonly apiRequests: Request[] = [];

  constructor(readonly page: Page) {
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') this.problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (err) => this.problems.push(`page error: ${err.message}`));
    page.on('requestfailed', (r) => this.problems.push(`failed: ${r.method()} ${r.url()} ${r.failure()?.errorText}`));
    page.on('response', (r) => {
      if (r.status() >= 400) this.problems.push(`${r.status()} ${r.request().method()} ${r.url()}`);
    });
    page.on('request', (r) => {
      if (/\/(orders|payments)(\/|\?|$)/.test(new URL(r.url()).pathname + new URL(r.url()).search)) {
        this.apiRequests.push(r);
      }
    });
  }

  posts(path: string): Request[] {
    return this.apiRequests.filter((r) => r.method() === 'POST' && new URL(r.url()).pathname === path);
  }

  button(name: string) {
    return this.page.getByRole('button', { name, exact: true });
  }

  balance(): Promise<string> {
    return this.page.locator('#balance').innerText();
  }

  async balanceBecomes(text: string): Promise<void> {
    await until(
      'balance',
      () => this.balance(),
      (b) => b === text,
    );
  }

  /** Signs in as `user` on the built-in provider's development page, from the page's "Sign in". */
  async signIn(user: string): Promise<void> {
    await this.page.getByRole('link', { name: 'Sign in', exact: true }).click();
    await this.page.getByLabel('User name').fill(user);
    await this.button('Sign in').click();
    await this.page.locator('#who').filter({ hasText: user }).waitFor();
  }

  /** Signs in as `user` and opens their account (balance 0.00). */
  async signInWithAccount(user: string): Promise<void> {
    await this.signIn(user);
    await this.balanceBecomes('no account yet');
    await this.button('Open account').click();
    await this.balanceBecomes('0.00');
  }

  async signOut(): Promise<void> {
    await this.button('Sign out').click();
    await this.page.getByRole('link', { name: 'Sign in', exact: true }).waitFor();
  }

  /** The session cookie the browser holds for the gateway, if any. */
  async sessionCookie(): Promise<string | undefined> {
    const cookies = await this.page.context().cookies();
    return cookies.find((c) => c.name === 'gozon_session')?.value;
  }

  /**
   * The problems, less what signing in always shows: `GET /session` answers 401 while nobody is
   * signed in, and the balance 404 until the account is opened; Chromium reports both on the console.
   */
  unexpectedProblems(): string[] {
    const expected = [
      /^401 GET http:\/\/[^ /]+\/session$/,
      /^404 GET http:\/\/[^ /]+\/payments\/accounts\/[^/ ]+\/balance$/,
      /^console error: Failed to load resource: the server responded with a status of (401 \(Unauthorized\)|404 \(Not Found\))$/,
    ];
    return this.problems.filter((p) => !expected.some((e) => e.test(p)));
  }

  async deposit(amount: string, balanceAfter: string): Promise<void> {
    await this.page.locator('#deposit-amount').fill(amount);
    await this.button('Deposit').click();
    await this.balanceBecomes(balanceAfter);
  }

  async fillOrder(amount: string, description: string): Promise<void> {
    await this.page.locator('#order-amount').fill(amount);
    await this.page.getByLabel('Description').fill(description);
  }

  orders(): Promise<ShownOrder[]> {
    return this.page.$$eval('#orders > li', (items) =>
      items.map((li) => ({
        id: li.getAttribute('data-order-id') ?? '',
        status: li.getAttribute('data-status') ?? '',
        badge: li.querySelector('.badge')?.textContent ?? '',
        amount: li.querySelector('.order-amount')?.textContent ?? '',
        description: li.querySelector('.order-description')?.textContent ?? '',
        reason: li.querySelector('.order-reason')?.textContent ?? null,
      })),
    );
  }

  /** Waits until the page shows `count` orders, none of them NEW. */
  settledOrders(count: number): Promise<ShownOrder[]> {
    return until(
      'orders shown',
      () => this.orders(),
      (orders) => orders.length === count && orders.every((o) => o.status !== 'NEW'),
    );
  }
}

/** A user id no other test uses. */
export const newUserId = (prefix = 'web'): string =>
  `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
