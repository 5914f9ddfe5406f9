import { expect } from 'chai';
import type { Browser, BrowserContext } from 'playwright-core';
import { launchChromium, newUserId, until, WebPage } from './browser.js';
import type { Order } from './client.js';
import { ServerSystem, type ServerSystemOptions } from './system.js';

/**
 * The system and a browser, started side by side. Both settle before either failure is thrown: a
 * system started beside a browser that failed to launch is then still kept, for `after` to stop,
 * instead of keeping mocha alive.
 */
const startBeside = async (
  options: ServerSystemOptions,
  keep: (system: ServerSystem | undefined, browser: Browser | undefined) => void,
): Promise<void> => {
  const [started, launched] = await Promise.allSettled([ServerSystem.start(options), launchChromium()]);
  keep(
    started.status === 'fulfilled' ? started.value : undefined,
    launched.status === 'fulfilled' ? launched.value : undefined,
  );
  if (started.status === 'rejected') throw started.reason;
  if (launched.status === 'rejected') throw launched.reason;
};

/** The API as the holder of a session cookie calls it from outside the page (reads need no CSRF token). */
const withCookie = (base: string, session: string | undefined) => (path: string) =>
  fetch(`${base}${path}`, { headers: session ? { cookie: `gozon_session=${session}` } : {} });

describe('the web page in Chromium, on Postgres + RabbitMQ through the gateway', function () {
  this.timeout(120_000);
  let system: ServerSystem;
  let browser: Browser;
  let context: BrowserContext | undefined;

  before(async () => {
    await startBeside({}, (started, launched) => {
      if (started) system = started;
      if (launched) browser = launched;
    });
  });
  after(async () => {
    await browser?.close();
    await system?.stop();
  });
  afterEach(async () => {
    await context?.close();
    context = undefined;
  });

  const open = async (viewport = { width: 1280, height: 800 }): Promise<WebPage> => {
    context = await browser.newContext({ viewport });
    const web = new WebPage(await context.newPage());
    await web.page.goto(system.gatewayUrl);
    await web.page.getByRole('heading', { name: 'GoZon' }).waitFor();
    return web;
  };

  /** What the API says of the signed-in user of `web`, with that page's session cookie. */
  const apiOf = async (web: WebPage) => {
    const get = withCookie(system.gatewayUrl, await web.sessionCookie());
    const ok = async <T>(path: string): Promise<T> => {
      const response = await get(path);
      expect(response.status, path).to.equal(200);
      return (await response.json()) as T;
    };
    return {
      orders: () => ok<Order[]>('/orders'),
      balance: (user: string) => ok<{ balance: number }>(`/payments/accounts/${user}/balance`).then((a) => a.balance),
    };
  };

  it('signs in as A, pays an order (FINISHED, balance right), signs out; the old cookie gets 401; B sees none of A’s', async () => {
    const web = await open();
    const ada = newUserId('ada');
    await web.signInWithAccount(ada);
    await web.deposit('20.00', '20.00');
    await web.page.evaluate('window.stillTheSamePage = true');
    await web.fillOrder('15.00', 'a book');
    await web.button('Place order').click();

    const [shown] = await web.settledOrders(1);
    expect(shown).to.include({ status: 'FINISHED', badge: 'FINISHED', amount: '15.00', description: 'a book' });
    expect(shown?.reason).to.equal(null);
    await web.balanceBecomes('5.00');
    expect(await web.page.evaluate('window.stillTheSamePage')).to.equal(true);
    const api = await apiOf(web);
    const [order] = await api.orders();
    expect(order).to.include({ id: shown?.id, user_id: ada, amount: 1500, status: 'FINISHED', description: 'a book' });
    expect(await api.balance(ada)).to.equal(500);

    // The caller is the user: no user_id in bodies; writes carry the session's CSRF token; the
    // page's script never sees the session cookie.
    const posted = web.posts('/orders');
    expect(posted.map((r) => r.postDataJSON())).to.deep.equal([{ amount: 1500, description: 'a book' }]);
    const session = (await (await withCookie(system.gatewayUrl, await web.sessionCookie())('/session')).json()) as {
      csrf_token: string;
    };
    expect(posted[0]?.headers()['x-csrf-token']).to.equal(session.csrf_token);
    expect(await web.page.evaluate('document.cookie')).to.not.contain('gozon_session');
    // Its answer read to the end: the sign-out's reload below would otherwise cut it off (a failed request).
    const forged = await web.page.evaluate(`fetch('/orders', {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"amount": 100}',
    }).then((r) => r.text().then(() => r.status))`);
    expect(forged, 'a write without the CSRF header').to.equal(403);

    const oldCookie = await web.sessionCookie();
    await web.signOut();
    expect(await web.page.locator('#orders-card').isHidden()).to.equal(true);
    const after = await withCookie(system.gatewayUrl, oldCookie)('/orders');
    expect(after.status).to.equal(401);
    expect(after.headers.get('www-authenticate')).to.match(/^Bearer/);

    // Another person in the same browser: the provider asks again (prompt=login), and B sees only B's.
    const bob = newUserId('bob');
    await web.signIn(bob);
    await web.balanceBecomes('no account yet');
    expect(await web.orders()).to.deep.equal([]);
    expect(await web.page.locator('#orders-empty').isVisible()).to.equal(true);
    const bobs = await apiOf(web);
    expect(await bobs.orders()).to.deep.equal([]);
    const peek = await withCookie(system.gatewayUrl, await web.sessionCookie())(`/orders/${shown?.id}`);
    expect(peek.status, 'another user’s order').to.equal(404);
    expect(web.problems.filter((p) => p.startsWith('403 '))).to.have.length(1);
    expect(web.unexpectedProblems().filter((p) => !/^403 POST .*\/orders$|status of 403/.test(p))).to.deep.equal([]);
  });

  it('shows an order over the balance as CANCELLED for "insufficient funds", newest first', async () => {
    const web = await open();
    await web.signInWithAccount(newUserId());
    await web.deposit('10.00', '10.00');
    await web.fillOrder('4.00', 'fits');
    await web.button('Place order').click();
    await web.settledOrders(1);
    await web.balanceBecomes('6.00');
    await web.fillOrder('30.00', 'too dear');
    await web.button('Place order').click();

    const shown = await web.settledOrders(2);
    expect(shown.map((o) => [o.amount, o.status, o.reason])).to.deep.equal([
      ['30.00', 'CANCELLED', 'insufficient funds'],
      ['4.00', 'FINISHED', null],
    ]);
    await web.page.getByText('insufficient funds', { exact: true }).waitFor({ state: 'visible' });
    expect(await web.balance()).to.equal('6.00');
    const listed = await (await apiOf(web)).orders();
    expect(listed.map((o) => o.id)).to.deep.equal(shown.map((o) => o.id));
    expect(listed[0]).to.include({ status: 'CANCELLED', failure_reason: 'insufficient_funds' });
    expect(web.unexpectedProblems()).to.deep.equal([]);
  });

  it('makes exactly one order from a double click on "Place order"', async () => {
    const web = await open();
    const user = newUserId();
    await web.signInWithAccount(user);
    await web.deposit('5.00', '5.00');
    await web.fillOrder('1.00', 'double click');
    await web.button('Place order').dblclick();

    await web.settledOrders(1);
    await web.balanceBecomes('4.00');
    // Give a second order, had one been sent, time to show up everywhere.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await web.orders()).to.have.length(1);
    const api = await apiOf(web);
    expect(await api.orders()).to.have.length(1);
    expect(await api.balance(user)).to.equal(400);
    const keys = web.posts('/orders').map((r) => r.headers()['idempotency-key']);
    expect(keys).to.have.length.greaterThan(0);
    expect(new Set(keys).size, 'one submission, one Idempotency-Key').to.equal(1);
    expect(web.unexpectedProblems()).to.deep.equal([]);
  });

  it('refuses bad amounts next to the field and sends nothing; sends good ones in minor units', async () => {
    const web = await open();
    const user = newUserId();
    await web.signInWithAccount(user);
    const sentBefore = web.apiRequests.length;
    const amount = web.page.locator('#order-amount');
    const cases: [string, RegExp][] = [
      ['abc', /enter a number/i],
      ['-1', /more than 0/i],
      ['1.234', /two decimals/i],
      ['0', /more than 0/i],
      ['', /enter an amount/i],
      ['10000000000.01', /at most 10000000000\.00/i],
    ];
    for (const [typed, message] of cases) {
      await web.fillOrder(typed, 'refused');
      await web.button('Place order').click();
      expect(await amount.getAttribute('aria-invalid'), typed).to.equal('true');
      const note = web.page.locator(`#${await amount.getAttribute('aria-describedby')}`);
      expect(await note.isVisible(), typed).to.equal(true);
      expect(await note.innerText(), typed).to.match(message);
      expect(await amount.evaluate((input) => input === input.ownerDocument.activeElement), typed).to.equal(true);
    }
    const deposit = web.page.locator('#deposit-amount');
    await deposit.fill('1,5');
    await web.button('Deposit').click();
    expect(await deposit.getAttribute('aria-invalid')).to.equal('true');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(web.apiRequests.slice(sentBefore).map((r) => `${r.method()} ${r.url()}`)).to.deep.equal([]);

    // Typing clears the complaint; exact amounts go out in minor units.
    await deposit.fill('0.1');
    expect(await deposit.getAttribute('aria-invalid')).to.equal(null);
    await web.button('Deposit').click();
    await web.balanceBecomes('0.10');
    await web.fillOrder('0.07', 'exact');
    await web.button('Place order').click();
    await web.settledOrders(1);
    await web.balanceBecomes('0.03');
    expect(web.posts('/payments/accounts/deposit').map((r) => r.postDataJSON())).to.deep.equal([{ amount: 10 }]);
    expect(web.posts('/orders').map((r) => r.postDataJSON().amount)).to.deep.equal([7]);
    expect(await (await apiOf(web)).balance(user)).to.equal(3);
    expect(web.unexpectedProblems()).to.deep.equal([]);
  });

  it('offers "Open account" when a deposit finds no account, and then deposits', async () => {
    const web = await open();
    await web.signIn(newUserId());
    await web.balanceBecomes('no account yet');
    await web.page.locator('#deposit-amount').fill('2.00');
    await web.button('Deposit').click();
    await web.page.getByText('Open your account first.').waitFor();
    await web.button('Open account').click();
    await web.balanceBecomes('0.00');
    expect(await web.button('Open account').isHidden()).to.equal(true);
    await web.button('Deposit').click();
    await web.balanceBecomes('2.00');
    const expected = (p: string) =>
      /^404 (GET|POST) http:\/\/[^ ]+\/payments\/accounts\/(deposit|[^/]+\/balance)$/.test(p) ||
      /status of 404/.test(p);
    expect(web.unexpectedProblems().filter((p) => !expected(p))).to.deep.equal([]);
  });

  it('shows a banner while the orders service is down, stays usable, clears it on return; the retry makes one order', async () => {
    const web = await open();
    await web.signInWithAccount(newUserId());
    await web.deposit('20.00', '20.00');
    const banner = web.page.getByRole('alert');
    expect(await banner.isVisible()).to.equal(false);

    await system.parts.orders.kill('SIGTERM');
    try {
      await web.fillOrder('2.00', 'while down');
      await web.button('Place order').click();
      await banner.waitFor({ state: 'visible', timeout: 10_000 });
      expect(await banner.innerText()).to.match(/orders service is not answering/);
      await web.page.getByText('Not sent: the orders service is not answering').waitFor();
      expect(await web.button('Place order').isEnabled()).to.equal(true);
      // The rest of the page still works.
      await web.deposit('1.00', '21.00');
    } finally {
      await system.parts.orders.start();
    }
    await banner.waitFor({ state: 'hidden', timeout: 20_000 });

    // The same submission again: the same Idempotency-Key, one order.
    await web.button('Place order').click();
    const [shown] = await web.settledOrders(1);
    expect(shown).to.include({ status: 'FINISHED', amount: '2.00', description: 'while down' });
    await web.balanceBecomes('19.00');
    const keys = web.posts('/orders').map((r) => r.headers()['idempotency-key']);
    expect(keys).to.have.length(2);
    expect(keys[1]).to.equal(keys[0]);
    expect(await (await apiOf(web)).orders()).to.have.length(1);
    const expected = (p: string) =>
      /^50[234] (GET|POST) http:\/\/[^ ]+\/orders(\?|$)/.test(p) ||
      /Failed to load resource: the server responded with a status of 50[234]/.test(p);
    expect(web.unexpectedProblems().filter((p) => !expected(p))).to.deep.equal([]);
    expect(web.problems.filter(expected)).to.have.length.greaterThan(0);
  });

  it('shows the first page of orders, appends the older ones with "Load more", and keeps them on refresh', async () => {
    const web = await open();
    const user = newUserId('pages');
    // No account: every order ends CANCELLED at once, and the page stops polling.
    await web.signIn(user);
    await web.balanceBecomes('no account yet');
    const cookie = `gozon_session=${(await web.sessionCookie()) ?? ''}`;
    const session = withCookie(system.gatewayUrl, await web.sessionCookie());
    const { csrf_token: csrf } = (await (await session('/session')).json()) as { csrf_token: string };
    for (let amount = 1; amount <= 55; amount += 1) {
      const placed = await fetch(`${system.gatewayUrl}/orders`, {
        method: 'POST',
        headers: { cookie, 'x-csrf-token': csrf, 'content-type': 'application/json' },
        body: JSON.stringify({ amount }),
      });
      expect(placed.status).to.equal(201);
    }
    const listed = async () => ((await (await session('/orders?limit=200')).json()) as Order[]).map((o) => o.id);
    await web.page.reload();
    const first = await until(
      'the first page',
      () => web.orders(),
      (o) => o.length === 50,
    );
    expect(first.map((o) => o.id)).to.deep.equal((await listed()).slice(0, 50));
    const more = web.button('Load more');
    await more.click();
    // The button reads "Loading…" while the page is asked for, so it hides before the orders come:
    // wait for the orders themselves.
    const all = await until(
      'the older orders',
      () => web.orders(),
      (o) => o.length === 55,
    );
    expect(all.map((o) => o.id)).to.deep.equal(await listed());
    expect(await more.isHidden()).to.equal(true);
    expect(web.apiRequests.filter((r) => new URL(r.url()).searchParams.has('cursor'))).to.have.length(1);

    // A new order brings a refresh of the first page; the older pages stay below it.
    await web.fillOrder('1.00', 'after paging');
    await web.button('Place order').click();
    const shown = await web.settledOrders(56);
    expect(shown[0]).to.include({ description: 'after paging' });
    expect(shown.map((o) => o.id)).to.deep.equal(await listed());
    expect(await more.isHidden()).to.equal(true);
    expect(web.unexpectedProblems()).to.deep.equal([]);
  });

  it('stays signed in across a reload', async () => {
    const web = await open();
    const user = newUserId();
    await web.signInWithAccount(user);
    await web.deposit('3.00', '3.00');
    await web.page.reload();
    await web.page.locator('#who').filter({ hasText: user }).waitFor();
    await web.balanceBecomes('3.00');
    expect(web.unexpectedProblems()).to.deep.equal([]);
  });

  it('fits a 360-pixel-wide phone without horizontal scrolling', async () => {
    const web = await open({ width: 360, height: 740 });
    const user = newUserId('a-rather-long-user-id.for.a.small-screen@example.org');
    await web.signInWithAccount(user.slice(0, 64));
    await web.deposit('10000000000.00', '10000000000.00');
    await web.fillOrder('9999999999.99', `${'unbroken'.repeat(30)} and a long description`);
    await web.button('Place order').click();
    await web.settledOrders(1);
    const overflow = (await web.page.evaluate(`(() => {
      const width = document.documentElement.clientWidth;
      const wider = [...document.querySelectorAll('body *')]
        .filter((el) => el.getBoundingClientRect().right > width + 0.5)
        .map((el) => el.tagName + (el.id ? '#' + el.id : '') + '.' + el.className);
      return { width, scroll: document.documentElement.scrollWidth, wider };
    })()`)) as { width: number; scroll: number; wider: string[] };
    expect(overflow.width).to.equal(360);
    expect(overflow.wider).to.deep.equal([]);
    expect(overflow.scroll).to.equal(360);
    expect(web.unexpectedProblems()).to.deep.equal([]);
  });

  it('works from the keyboard alone, with a visible focus', async () => {
    const web = await open();
    const keyboard = web.page.keyboard;
    const focused = () => web.page.evaluate('document.activeElement.id || document.activeElement.textContent');
    await web.page.getByRole('link', { name: 'Sign in' }).waitFor();
    await keyboard.press('Tab');
    expect(await focused()).to.equal('sign-in');
    const outline = await web.page.evaluate('getComputedStyle(document.activeElement).outlineStyle');
    expect(outline).to.not.equal('none');
    await keyboard.press('Enter');
    await web.page.getByLabel('User name').waitFor();
    await web.page.getByLabel('User name').focus();
    await keyboard.type(newUserId());
    await keyboard.press('Enter');
    await web.page.getByRole('button', { name: 'Sign out' }).waitFor();
    await web.balanceBecomes('no account yet');
    await keyboard.press('Tab');
    expect(await focused()).to.equal('sign-out');
    await keyboard.press('Tab');
    expect(await focused()).to.equal('Open account');
    await keyboard.press('Enter');
    await web.balanceBecomes('0.00');
    await web.page.locator('#deposit-amount').focus();
    await keyboard.type('2.50');
    await keyboard.press('Enter');
    await web.balanceBecomes('2.50');
    expect(web.unexpectedProblems()).to.deep.equal([]);
  });
});

describe('the web page in Chromium, on Postgres + RabbitMQ, with GOZON_AUTH=none: the user id box as before', function () {
  this.timeout(120_000);
  let system: ServerSystem;
  let browser: Browser;

  before(async () => {
    await startBeside({ env: { GOZON_AUTH: 'none' } }, (started, launched) => {
      if (started) system = started;
      if (launched) browser = launched;
    });
  });
  after(async () => {
    await browser?.close();
    await system?.stop();
  });

  it('names the user in a box (no sign-in), pays an order, and remembers the user id across a reload', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    try {
      const web = new WebPage(await context.newPage());
      await web.page.goto(system.gatewayUrl);
      const user = newUserId('open');
      await web.page.getByLabel('User id').fill(user);
      await web.button('Create account').click();
      await web.balanceBecomes('0.00');
      expect(await web.page.getByRole('link', { name: 'Sign in' }).isHidden()).to.equal(true);
      expect(await web.button('Open account').isHidden()).to.equal(true);
      await web.deposit('20.00', '20.00');
      await web.fillOrder('15.00', 'a book');
      await web.button('Place order').click();
      const [shown] = await web.settledOrders(1);
      expect(shown).to.include({ status: 'FINISHED', amount: '15.00' });
      await web.balanceBecomes('5.00');
      const posted = web.posts('/orders');
      expect(posted.map((r) => r.postDataJSON())).to.deep.equal([
        { user_id: user, amount: 1500, description: 'a book' },
      ]);
      expect(posted[0]?.headers()).to.not.have.property('x-csrf-token');
      expect(web.apiRequests.some((r) => r.url().endsWith(`/orders?user_id=${user}`))).to.equal(true);

      await web.page.reload();
      await until(
        'user id after reload',
        () => web.page.getByLabel('User id').inputValue(),
        (v) => v === user,
      );
      await web.balanceBecomes('5.00');
      expect(web.problems).to.deep.equal([]);
    } finally {
      await context.close();
    }
  });
});
