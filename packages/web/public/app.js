import { api, ApiError, onAvailability, onSignedOut, session, Unavailable, useIdentity } from './api.js';
import { checkFields, keyFor, say, setFieldError, settle, whileBusy } from './form.js';
import { formatMinor, parseAmount } from './money.js';
import { descriptionProblem, userIdProblem } from './rules.js';
import { outcome, renderOrders } from './orders-view.js';

const USER_KEY = 'gozon.user_id';
const POLL_MIN_MS = 500;
const POLL_MAX_MS = 4000;
const ACCOUNT_CARDS = ['deposit-card', 'order-card', 'orders-card'];

const $ = (id) => document.getElementById(id);
const ui = {
  banner: $('banner'),
  checking: $('session-checking'),
  signedOut: $('signed-out'),
  signedIn: $('signed-in'),
  who: $('who'),
  signOut: $('sign-out'),
  sessionMessage: $('session-message'),
  openForm: $('open-form'),
  accountForm: $('account-form'),
  userId: $('user-id'),
  balanceRow: $('balance-row'),
  balance: $('balance'),
  depositForm: $('deposit-form'),
  depositAmount: $('deposit-amount'),
  orderForm: $('order-form'),
  orderAmount: $('order-amount'),
  orderDescription: $('order-description'),
  ordersEmpty: $('orders-empty'),
  orders: $('orders'),
  moreOrders: $('more-orders'),
  loadMore: $('load-more'),
  announcer: $('announcer'),
};

// `mode` is 'oidc' (signed in through the gateway's session) or 'none' (the page names the user).
// `next` is the path of the page after those shown (null: none); `extended` says "Load more" was used.
const state = { mode: null, user: null, orders: [], balance: undefined, next: null, extended: false };

// The banner lists the services whose last request got no answer, until one answers again.
const down = new Set();
onAvailability((service, up) => {
  if (up) down.delete(service);
  else down.add(service);
  ui.banner.hidden = down.size === 0;
  ui.banner.textContent =
    down.size === 0
      ? ''
      : `The ${[...down].sort().join(' and ')} service is not answering right now. ` +
        (state.user ? 'We keep checking; try again in a moment.' : 'Try again in a moment.');
});

const amountProblem = (input) => {
  const parsed = parseAmount(input.value);
  return parsed.ok ? null : parsed.message;
};

/** The message to show for a failed request. */
const problem = (err) => {
  if (err instanceof Unavailable) return `Not sent: the ${err.service} service is not answering. Try again.`;
  if (err instanceof ApiError) return err.message;
  console.warn(err);
  return 'Something went wrong; try again.';
};

const showBalance = (balance) => {
  state.balance = balance;
  ui.balanceRow.hidden = false;
  ui.balance.textContent = balance === null ? 'no account yet' : formatMinor(balance);
  // Signed in, the account can only be one's own: offer to open it. Without identity the
  // account form's "Create account" does that.
  ui.openForm.hidden = !(balance === null && state.mode === 'oidc');
};

const showOrders = (orders) => {
  const before = new Map(state.orders.map((o) => [o.id, o.status]));
  const changed = JSON.stringify(orders) !== JSON.stringify(state.orders);
  state.orders = orders;
  if (!changed) return false;
  renderOrders(ui.orders, orders);
  ui.ordersEmpty.hidden = orders.length > 0;
  const settled = orders.filter((o) => before.get(o.id) === 'NEW' && o.status !== 'NEW');
  if (settled.length) ui.announcer.textContent = settled.map(outcome).join(' ');
  return true;
};

/** Newest first, as the API lists them: by creation time, then by id, both descending. */
const newestFirst = (a, b) =>
  a.created_at === b.created_at ? (a.id < b.id ? 1 : -1) : a.created_at < b.created_at ? 1 : -1;

/** `fresh` orders, and those of `shown` not among them, newest first: fresh answers win. */
const merged = (fresh, shown) => {
  const ids = new Set(fresh.map((o) => o.id));
  return [...fresh, ...shown.filter((o) => !ids.has(o.id))].sort(newestFirst);
};

const showNext = (next) => {
  state.next = next;
  ui.loadMore.hidden = !next;
};

/**
 * The first page, as a refresh reads it. Once "Load more" was used, the older pages stay below it
 * and the next page is still the one after them; else the first page is the whole list shown.
 */
const showFirstPage = ({ orders, next }) => {
  if (state.extended) return showOrders(merged(orders, state.orders));
  showNext(next);
  return showOrders(orders);
};

// Polls orders and balance while an order is NEW or a service is down, backing off when
// nothing changes. Only the newest refresh applies its answers.
let generation = 0;
let timer;
let delay = POLL_MIN_MS;

const schedule = (changed) => {
  clearTimeout(timer);
  const waiting = state.orders.some((o) => o.status === 'NEW') || down.size > 0;
  if (!state.user || !waiting) {
    delay = POLL_MIN_MS;
    return;
  }
  delay = changed ? POLL_MIN_MS : Math.min(Math.round(delay * 1.5), POLL_MAX_MS);
  timer = setTimeout(() => void refresh(), delay);
};

const refresh = async () => {
  const user = state.user;
  const mine = ++generation;
  clearTimeout(timer);
  const [orders, account] = await Promise.allSettled([api.orders(user), api.balance(user)]);
  if (mine !== generation) return;
  let changed = false;
  if (orders.status === 'fulfilled') changed = showFirstPage(orders.value);
  if (account.status === 'fulfilled') {
    changed ||= account.value.balance !== state.balance;
    showBalance(account.value.balance);
  } else if (account.reason instanceof ApiError && account.reason.status === 404) {
    showBalance(null);
  }
  schedule(changed);
};

const useAccount = (user) => {
  if (user !== state.user) {
    state.user = user;
    Object.assign(state, { orders: [], balance: undefined, extended: false });
    showNext(null);
    renderOrders(ui.orders, []);
    ui.ordersEmpty.hidden = false;
    ui.balance.textContent = '…';
  }
  if (state.mode === 'none') localStorage.setItem(USER_KEY, user);
  for (const id of ACCOUNT_CARDS) $(id).hidden = false;
  return refresh();
};

/** Hides the account and stops polling it: nobody is signed in. */
const forgetAccount = () => {
  generation++;
  clearTimeout(timer);
  Object.assign(state, { user: null, orders: [], balance: undefined, extended: false });
  showNext(null);
  renderOrders(ui.orders, []);
  ui.ordersEmpty.hidden = false;
  ui.balanceRow.hidden = true;
  ui.openForm.hidden = true;
  for (const id of ACCOUNT_CARDS) $(id).hidden = true;
};

const showSignedOut = (message = '') => {
  forgetAccount();
  useIdentity({ mode: 'oidc' });
  ui.checking.hidden = true;
  ui.signedIn.hidden = true;
  ui.signedOut.hidden = false;
  ui.sessionMessage.textContent = message;
};

const showSignedIn = (me) => {
  useIdentity({ mode: 'oidc', csrfToken: me.csrf_token });
  ui.checking.hidden = true;
  ui.signedOut.hidden = true;
  ui.signedIn.hidden = false;
  ui.who.textContent = me.user_id;
  ui.sessionMessage.textContent = '';
  return useAccount(me.user_id);
};

/** `GOZON_AUTH=none`: no sign-in; the user id box names the account, as before identity. */
const showOpen = () => {
  useIdentity({ mode: 'none' });
  ui.checking.hidden = true;
  ui.accountForm.hidden = false;
  const remembered = localStorage.getItem(USER_KEY);
  if (remembered && userIdProblem(remembered) === null) {
    ui.userId.value = remembered;
    void useAccount(remembered);
  }
};

// The API refused the session (it expired, or was ended elsewhere): back to "Sign in".
onSignedOut(() => {
  if (state.mode === 'oidc' && state.user) showSignedOut('Your session has ended; sign in again.');
});

ui.signOut.addEventListener('click', () => {
  void whileBusy(ui.signedIn, ui.signOut, 'Signing out…', async () => {
    try {
      await session.signOut();
      window.location.reload();
    } catch (err) {
      ui.sessionMessage.textContent = problem(err);
    }
  });
});

ui.openForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const form = ui.openForm;
  say(form, '');
  void whileBusy(form, form.querySelector('button'), 'Opening…', async () => {
    try {
      await api.createAccount(state.user);
      ui.announcer.textContent = 'Account opened.';
    } catch (err) {
      // 409: it exists already (opened in another tab); showing it is all that is left to do.
      if (!(err instanceof ApiError && err.status === 409)) return say(form, problem(err), 'error');
    }
    await refresh();
  });
});

ui.accountForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const form = ui.accountForm;
  const user = ui.userId.value.trim();
  say(form, '');
  if (!checkFields([[ui.userId, userIdProblem(user)]])) return;
  const button = event.submitter ?? form.querySelector('button');
  if (button.value !== 'create') return void useAccount(user);
  void whileBusy(form, button, 'Creating…', async () => {
    try {
      await api.createAccount(user);
      say(form, `Account ${user} created.`);
      await useAccount(user);
    } catch (err) {
      say(form, problem(err), 'error');
    }
  });
});

ui.depositForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const form = ui.depositForm;
  say(form, '');
  if (!checkFields([[ui.depositAmount, amountProblem(ui.depositAmount)]])) return;
  const amount = parseAmount(ui.depositAmount.value).minor;
  const user = state.user;
  const key = keyFor(form, { user, amount });
  void whileBusy(form, form.querySelector('button'), 'Depositing…', async () => {
    try {
      const account = await api.deposit(user, amount, key);
      settle(form);
      showBalance(account.balance);
      ui.depositAmount.value = '';
      say(form, `Deposited ${formatMinor(amount)}.`);
    } catch (err) {
      if (!(err instanceof Unavailable)) settle(form);
      const noAccount = err instanceof ApiError && err.status === 404;
      if (noAccount) showBalance(null);
      say(form, noAccount ? 'Open your account first.' : problem(err), 'error');
      schedule(false);
    }
  });
});

ui.orderForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const form = ui.orderForm;
  say(form, '');
  const description = ui.orderDescription.value;
  const valid = checkFields([
    [ui.orderAmount, amountProblem(ui.orderAmount)],
    [ui.orderDescription, descriptionProblem(description)],
  ]);
  if (!valid) return;
  const amount = parseAmount(ui.orderAmount.value).minor;
  const user = state.user;
  const key = keyFor(form, { user, amount, description });
  void whileBusy(form, form.querySelector('button'), 'Placing…', async () => {
    try {
      const order = await api.placeOrder(user, amount, description, key);
      settle(form);
      ui.orderAmount.value = '';
      ui.orderDescription.value = '';
      say(form, `Order of ${formatMinor(amount)} placed.`);
      if (state.user === user && !state.orders.some((o) => o.id === order.id)) {
        showOrders([order, ...state.orders]);
      }
      schedule(true);
    } catch (err) {
      if (!(err instanceof Unavailable)) settle(form);
      say(form, problem(err), 'error');
      schedule(false);
    }
  });
});

// Appends the next page; a refresh meanwhile keeps it (see showFirstPage).
ui.loadMore.addEventListener('click', () => {
  const { user, next } = state;
  say(ui.moreOrders, '');
  void whileBusy(ui.moreOrders, ui.loadMore, 'Loading…', async () => {
    try {
      const page = await api.moreOrders(next);
      if (state.user !== user) return;
      state.extended = true;
      showNext(page.next);
      showOrders(merged(page.orders, state.orders));
    } catch (err) {
      say(ui.moreOrders, problem(err), 'error');
    }
  });
});

for (const input of [ui.userId, ui.depositAmount, ui.orderAmount, ui.orderDescription]) {
  input.addEventListener('input', () => setFieldError(input, null));
}

/** Asks the gateway who is signed in, and shows the page for that. */
const start = async () => {
  let me;
  try {
    me = await session.current();
  } catch {
    ui.checking.hidden = true;
    ui.sessionMessage.textContent = 'GoZon is not answering right now; reload the page in a moment.';
    return;
  }
  state.mode = me?.auth === 'none' ? 'none' : 'oidc';
  if (state.mode === 'none') return showOpen();
  if (me) return showSignedIn(me);
  showSignedOut();
};

void start();
