import { expect } from 'chai';
import type { Browser, BrowserContext } from 'playwright-core';
import { launchChromium, newUserId, until, WebPage } from './browser.js';
import { GozonClient, type Order } from './client.js';
import { ServerSystem } from './system.js';

describe('the web page in Chromium, on Postgres + RabbitMQ through the gateway', function () {
  this.timeout(120_000);
  let system: ServerSystem;
  let api: GozonClient;
  let browser: Browser;
  let context: BrowserContext | undefined;

  before(async () => {
    // Both settle before either failure is thrown: a system started beside a browser that failed to
    // launch is then still stopped by `after`, instead of keeping mocha alive.
    const [started, launched] = await Promise.allSettled([ServerSystem.start(), launchChromium()]);
    if (started.status === 'fulfilled') system = started.value;
    if (launched.status === 'fulfilled') browser = launched.value;
    if (started.status === 'rejected') throw started.reason;
    if (launched.status === 'rejected') throw launched.reason;
    api = new GozonClient(system.gatewayUrl);
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

  const ordersOf = (user: string): Promise<Order[]> => api.json<Order[]>(api.get(`/orders?user_id=${user}`), 200);

  it('pays the seed order: account, deposit 20.00, order 15.00 → FINISHED without a reload, balance 5.00', async () => {
    const web = await open();
    const user = newUserId();
    await web.createAccount(user);
    await web.deposit('20.00', '20.00');
    await web.page.evaluate('window.stillTheSamePage = true');
    await web.fillOrder('15.00', 'a book');
    await web.button('Place order').click();

    const [shown] = await web.settledOrders(1);
    expect(shown).to.include({ status: 'FINISHED', badge: 'FINISHED', amount: '15.00', description: 'a book' });
    expect(shown?.reason).to.equal(null);
    await web.balanceBecomes('5.00');
    expect(await web.page.evaluate('window.stillTheSamePage')).to.equal(true);

    const [order] = await ordersOf(user);
    expect(order).to.include({ id: shown?.id, amount: 1500, status: 'FINISHED', description: 'a book' });
    expect(await api.balance(user)).to.equal(500);
    expect(web.posts('/orders').map((r) => r.postDataJSON())).to.deep.equal([
      { user_id: user, amount: 1500, description: 'a book' },
    ]);
    expect(web.problems).to.deep.equal([]);
  });

  it('shows an order over the balance as CANCELLED for "insufficient funds", newest first', async () => {
    const web = await open();
    const user = newUserId();
    await web.createAccount(user);
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
    const listed = await ordersOf(user);
    expect(listed.map((o) => o.id)).to.deep.equal(shown.map((o) => o.id));
    expect(listed[0]).to.include({ status: 'CANCELLED', failure_reason: 'insufficient_funds' });
    expect(web.problems).to.deep.equal([]);
  });

  it('makes exactly one order from a double click on "Place order"', async () => {
    const web = await open();
    const user = newUserId();
    await web.createAccount(user);
    await web.deposit('5.00', '5.00');
    await web.fillOrder('1.00', 'double click');
    await web.button('Place order').dblclick();

    await web.settledOrders(1);
    await web.balanceBecomes('4.00');
    // Give a second order, had one been sent, time to show up everywhere.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await web.orders()).to.have.length(1);
    expect(await ordersOf(user)).to.have.length(1);
    expect(await api.balance(user)).to.equal(400);
    const keys = web.posts('/orders').map((r) => r.headers()['idempotency-key']);
    expect(keys).to.have.length.greaterThan(0);
    expect(new Set(keys).size, 'one submission, one Idempotency-Key').to.equal(1);
    expect(web.problems).to.deep.equal([]);
  });

  it('refuses bad amounts next to the field and sends nothing; sends good ones in minor units', async () => {
    const web = await open();
    const user = newUserId();
    await web.createAccount(user);
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
    expect(web.posts('/payments/accounts/deposit').map((r) => r.postDataJSON().amount)).to.deep.equal([10]);
    expect(web.posts('/orders').map((r) => r.postDataJSON().amount)).to.deep.equal([7]);
    expect(await api.balance(user)).to.equal(3);
    expect(web.problems).to.deep.equal([]);
  });

  it('shows a banner while the orders service is down, stays usable, clears it on return; the retry makes one order', async () => {
    const web = await open();
    const user = newUserId();
    await web.createAccount(user);
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
    expect(await ordersOf(user)).to.have.length(1);
    const expected = (p: string) =>
      /^50[234] (GET|POST) http:\/\/[^ ]+\/orders(\?|$)/.test(p) ||
      /Failed to load resource: the server responded with a status of 50[234]/.test(p);
    expect(web.problems.filter((p) => !expected(p))).to.deep.equal([]);
    expect(web.problems.filter(expected)).to.have.length.greaterThan(0);
  });

  it('remembers the user id across a reload', async () => {
    const web = await open();
    const user = newUserId();
    await web.createAccount(user);
    await web.deposit('3.00', '3.00');
    await web.page.reload();
    await until(
      'user id after reload',
      () => web.page.getByLabel('User id').inputValue(),
      (v) => v === user,
    );
    await web.balanceBecomes('3.00');
    expect(web.problems).to.deep.equal([]);
  });

  it('fits a 360-pixel-wide phone without horizontal scrolling', async () => {
    const web = await open({ width: 360, height: 740 });
    const user = newUserId('a-rather-long-user-id.for.a.small-screen@example.org');
    await web.createAccount(user.slice(0, 64));
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
    expect(web.problems).to.deep.equal([]);
  });

  it('works from the keyboard alone, with a visible focus', async () => {
    const web = await open();
    const user = newUserId();
    const keyboard = web.page.keyboard;
    const focused = () => web.page.evaluate('document.activeElement.id || document.activeElement.textContent');
    await keyboard.press('Tab');
    expect(await focused()).to.equal('user-id');
    await keyboard.type(user);
    await keyboard.press('Tab');
    await keyboard.press('Tab');
    expect(await focused()).to.equal('Create account');
    const outline = await web.page.evaluate('getComputedStyle(document.activeElement).outlineStyle');
    expect(outline).to.not.equal('none');
    await keyboard.press('Enter');
    await web.balanceBecomes('0.00');
    await web.page.locator('#deposit-amount').focus();
    await keyboard.type('2.50');
    await keyboard.press('Enter');
    await web.balanceBecomes('2.50');
    expect(web.problems).to.deep.equal([]);
  });
});
