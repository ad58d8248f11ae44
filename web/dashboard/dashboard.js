// SPDX-License-Identifier: Apache-2.0
// The staff dashboard: sign-in, the live board of open orders, status
// changes with optimistic updates, the new-order cue and the connection
// state.  REST answers and live events meet in one OrderStore, which keeps
// the highest version of each order whatever order they arrive in.

import { TimingApi, TimingLive, OrderStore } from '/sdk/timing.js';
import { Board, OPEN, FINAL } from './board.js';
import { Chime } from './chime.js';
import { setText, shopDay } from './format.js';

const SESSION_KEY = 'timing.dashboard.session';
const PAGE_LIMIT = 200;
const MAX_PAGES = 50;
const ERROR_SHOWN_MS = 12000;

const $ = (id) => document.getElementById(id);

// { token, user, expires_at }: a new object for each sign-in, so late
// answers can tell that the shift they belong to has ended.
let session = null;
const api = new TimingApi({ token: () => session?.token ?? null });
const store = new OrderStore();
const chime = new Chime();
let live = null;
let shop = { name: 'Timing', currency: 'THB', timezone: undefined };
let clockOffset = 0;             // server clock minus this tablet's
let connections = 0;             // connection messages in this shift
let linkLost = false;
let ticker = null;

const optimistic = new Map();    // id -> status shown until the server answers
const errors = new Map();        // id -> { message, timer }
const fresh = new Set();         // new orders nobody has touched yet
const cued = new Set();          // orders that already had their cue
let listsLoaded = false;
let loading = null;
let loadAgain = false;
let lastChime = 0;

const board = new Board($('board'), $('done-list'), {
  move: (id, to) => move(id, to),
  cancel: (id) => askCancel(id),
  acknowledge: (id) => acknowledge(id),
});

const serverNow = () => Date.now() + clockOffset;

// ---------------------------------------------------------------- session

function loadSession() {
  try {
    const s = JSON.parse(sessionStorage.getItem(SESSION_KEY) || 'null');
    return s && typeof s.token === 'string' ? s : null;
  } catch {
    return null;
  }
}

function saveSession() {
  try {
    if (session) sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
    else sessionStorage.removeItem(SESSION_KEY);
  } catch { /* storage refused: the shift lasts until reload */ }
}

function showLogin(message = '', kind = 'error') {
  $('app').hidden = true;
  $('login').hidden = false;
  const m = $('login-message');
  m.textContent = message;
  m.dataset.kind = kind;
  m.hidden = !message;
  document.title = `Sign in · ${shop.name}`;
  const email = $('login-email');
  if (!email.value) email.focus(); else $('login-password').focus();
}

/** Ends the shift on this tablet: back to the sign-in form. */
function endSession(message, kind = 'error') {
  if (!session && $('app').hidden) return;
  session = null;
  saveSession();
  loadAgain = false;
  if (live) { live.stop(); live = null; }
  clearInterval(ticker);
  ticker = null;
  if ($('cancel-dialog').open) $('cancel-dialog').close();
  for (const e of errors.values()) clearTimeout(e.timer);
  errors.clear();
  optimistic.clear();
  fresh.clear();
  cued.clear();
  store.clear();
  board.clear();
  listsLoaded = false;
  document.body.dataset.loaded = 'false';
  connections = 0;
  linkLost = false;
  $('notices').replaceChildren();
  closeDone();
  showLogin(message, kind);
}

const SESSION_ENDED = 'Your session has ended. Please sign in again.';

async function onLogin(event) {
  event.preventDefault();
  // The sign-in tap is the user gesture that lets the chime play later.
  chime.unlock();
  const email = $('login-email').value.trim();
  const password = $('login-password').value;
  const message = $('login-message');
  if (!email || !password) {
    message.textContent = 'Enter your e-mail and password.';
    message.dataset.kind = 'error';
    message.hidden = false;
    return;
  }
  const submit = $('login-submit');
  submit.disabled = true;
  submit.textContent = 'Signing in…';
  message.hidden = true;
  try {
    const answer = await api.login(email, password);
    // login() made its token the client's; the provider reads the session.
    api.setToken(() => session?.token ?? null);
    if (answer.user.role !== 'staff' && answer.user.role !== 'admin') {
      message.textContent = 'This account is not a staff account.';
      message.hidden = false;
      return;
    }
    session = { token: answer.token, user: answer.user, expires_at: answer.expires_at };
    saveSession();
    $('login-password').value = '';
    await startShift();
  } catch (err) {
    api.setToken(() => session?.token ?? null);
    message.textContent = loginError(err);
    message.dataset.kind = 'error';
    message.hidden = false;
    $('login-password').select();
  } finally {
    submit.disabled = false;
    submit.textContent = 'Sign in';
  }
}

function loginError(err) {
  if (err.status === 429) {
    const wait = err.retryAfter ? ` Try again in ${Math.ceil(err.retryAfter / 60)} min.` : '';
    return `Too many attempts.${wait}`;
  }
  if (err.status === 0) return 'Cannot reach the server. Check the connection and try again.';
  return err.message || 'Sign-in failed.';
}

// ------------------------------------------------------------------ shift

async function startShift() {
  const mine = session;
  $('login').hidden = true;
  $('app').hidden = false;
  setText($('user-name'), session.user.name);
  try {
    shop = { ...shop, ...(await api.getShop()) };
  } catch (err) {
    if (err.status === 401 && session === mine) { endSession(SESSION_ENDED); return; }
    // Without the shop's details the board still works on the tablet's zone.
  }
  if (session !== mine) return;
  setText($('shop-name'), shop.name);
  setText($('login-shop'), shop.name);
  updateTitle();
  showConnection('connecting');
  startLive();
  loadLists();
  ticker = setInterval(scheduleRender, 15000);
}

function startLive() {
  live = new TimingLive({ channel: 'admin', token: () => session?.token ?? null, api, store });
  live.on('state', showConnection);
  live.on('connection', (m) => {
    const t = Date.parse(m.server_time);
    if (!Number.isNaN(t)) clockOffset = t - Date.now();
    connections += 1;
    // The lists read after the first connection miss nothing that the
    // socket does not bring; a failed load is retried on each connection.
    if (connections === 1 || !listsLoaded) loadLists();
  });
  live.on('order', scheduleRender);
  live.on('newOrder', (order) => announceNew(order));
  live.on('resync', ({ caughtUp }) => {
    if (!caughtUp) { listsLoaded = false; loadLists(); }
  });
  live.on('auth', () => endSession(SESSION_ENDED));
  live.on('error', (err) => console.warn('live updates:', err?.message ?? err));
  live.start();
}

/** Reads every open order and today's finished ones over REST into the
 *  store.  Calls that arrive while a load runs make it run once more, so
 *  the last answer is never older than the last call. */
function loadLists() {
  if (loading) { loadAgain = true; return loading; }
  const mine = session;
  loading = (async () => {
    try {
      do {
        loadAgain = false;
        const open = await fetchAll(OPEN);
        // Finished orders newest first, back to a little before today.
        const since = serverNow() - 36 * 3600 * 1000;
        const done = await fetchAll(FINAL, (o) => Date.parse(o.created_at) < since);
        if (session !== mine) return;
        for (const o of open) store.merge(o);
        for (const o of done) store.merge(o);
        // An order the board has as open that neither list returned has
        // moved on while this tablet was not listening: ask for it.
        const seen = new Set([...open, ...done].map((o) => o.id));
        const missing = store.all().filter((o) => OPEN.includes(o.status) && !seen.has(o.id));
        await Promise.all(missing.map((o) => api.getAdminOrder(o.id)
          .then((x) => { if (session === mine) store.merge(x); }).catch(() => {})));
        if (session !== mine) return;
        listsLoaded = true;
      } while (loadAgain);
    } catch (err) {
      if (session !== mine) return;
      listsLoaded = false;
      if (err.status === 401) { endSession(SESSION_ENDED); return; }
      notify(`Could not load the orders: ${err.message}`, 'error');
    } finally {
      loading = null;
      // A new shift asked while the old one's load was running.
      if (session !== mine && session && loadAgain) loadLists();
      document.body.dataset.loaded = listsLoaded ? 'true' : 'false';
      scheduleRender();
    }
  })();
  return loading;
}

async function fetchAll(statuses, stop) {
  const all = [];
  let cursor;
  for (let page = 0; page < MAX_PAGES; page += 1) {
    const answer = await api.listOrders({ status: statuses, limit: PAGE_LIMIT, cursor });
    all.push(...answer.items);
    const last = answer.items[answer.items.length - 1];
    if (answer.next_cursor == null || (stop && last && stop(last))) break;
    cursor = answer.next_cursor;
  }
  return all;
}

// ------------------------------------------------------------- rendering

let renderQueued = false;

function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  setTimeout(render, 0);
}

function render() {
  renderQueued = false;
  if (!session) return;
  const views = store.all().map((order) => {
    const status = optimistic.get(order.id) ?? order.status;
    if (status !== 'pending') fresh.delete(order.id);
    return {
      order, status, busy: optimistic.has(order.id), isNew: fresh.has(order.id),
      error: errors.get(order.id)?.message ?? null,
    };
  });
  const now = serverNow();
  const result = board.render(views, { now, timeZone: shop.timezone, today: shopDay(now, shop.timezone) });
  board.tick(now);
  $('done-count').textContent = String(result.done);
  $('done-empty').hidden = result.done > 0;
  updateTitle();
}

function updateTitle() {
  const n = fresh.size;
  document.title = `${n ? `(${n} new) ` : ''}Orders · ${shop.name}`;
}

// ------------------------------------------------------------- new orders

function announceNew(order) {
  if (cued.has(order.id)) return;
  cued.add(order.id);
  const current = store.get(order.id) ?? order;
  if (current.status !== 'pending') return;
  fresh.add(order.id);
  // The name in its own element: a Thai name is read with a Thai voice.
  const name = setText(document.createElement('span'), order.customer_info?.name ?? '');
  $('announce').replaceChildren(`New order #${order.pickup_number} for `, name);
  const count = document.querySelector('.column[data-status="pending"] .count');
  count.classList.remove('bump');
  void count.offsetWidth;   // restart the animation
  count.classList.add('bump');
  // One chime for a burst (e.g. orders caught up after a reconnect).
  if (Date.now() - lastChime > 1500 && chime.play()) lastChime = Date.now();
  scheduleRender();
}

function acknowledge(id) {
  if (fresh.delete(id)) scheduleRender();
}

// --------------------------------------------------------- status changes

async function move(id, to, reason) {
  const order = store.get(id);
  const mine = session;
  if (!order || optimistic.has(id) || !mine) return;
  fresh.delete(id);
  clearError(id);
  optimistic.set(id, to);
  scheduleRender();
  try {
    const updated = await api.updateOrderStatus(id, to, { reason, ifVersion: order.version });
    if (session !== mine) return;
    store.merge(updated);
    optimistic.delete(id);
    if (to === 'completed') notify(`Order #${order.pickup_number} completed.`, 'info');
    if (to === 'cancelled') notify(`Order #${order.pickup_number} cancelled.`, 'info');
  } catch (err) {
    if (session !== mine) return;
    optimistic.delete(id);
    if (err.status === 401) { endSession(SESSION_ENDED); return; }
    const stale = err.status === 412 || err.status === 409 || err.status === 404;
    // The server's messages are written for people; a failed connection's is not.
    const message = err.status === 0 ? 'Cannot reach the server: the change was not saved.'
      : (err.message || 'The change was not saved.');
    showError(id, `${message}${stale ? ' The card now shows the latest: check it and try again.' : ''}`);
    notify(`Order #${order.pickup_number}: ${message}`, 'error');
    // The card was out of date: fetch what the server has now.
    if (stale) {
      try {
        const latest = await api.getAdminOrder(id);
        if (session === mine) store.merge(latest);
      } catch (e) {
        if (e.status === 401 && session === mine) { endSession(SESSION_ENDED); return; }
      }
    }
  }
  scheduleRender();
}

function showError(id, message) {
  clearError(id);
  const timer = setTimeout(() => { errors.delete(id); scheduleRender(); }, ERROR_SHOWN_MS);
  errors.set(id, { message, timer });
}

function clearError(id) {
  const e = errors.get(id);
  if (e) { clearTimeout(e.timer); errors.delete(id); }
}

// ---------------------------------------------------------------- cancel

let cancelling = null;

function askCancel(id) {
  const order = store.get(id);
  if (!order) return;
  cancelling = id;
  fresh.delete(id);
  $('cancel-title').textContent = `Cancel order #${order.pickup_number}?`;
  const items = (order.items ?? []).map((i) => `${i.quantity}× ${i.menu_name}`).join(', ');
  setText($('cancel-who'), `${order.customer_info?.name ?? ''} — ${items}`);
  $('cancel-reason').value = '';
  $('cancel-error').hidden = true;
  $('cancel-dialog').showModal();
  $('cancel-reason').focus();
}

function onCancelSubmit(event) {
  event.preventDefault();
  const reason = $('cancel-reason').value.trim();
  if (!reason) {
    const e = $('cancel-error');
    e.textContent = 'A reason is required to cancel an order.';
    e.hidden = false;
    $('cancel-reason').focus();
    return;
  }
  const id = cancelling;
  cancelling = null;
  $('cancel-dialog').close();
  if (id != null) move(id, 'cancelled', reason);
}

// ------------------------------------------------ connection and notices

const CONNECTION_TEXT = { connecting: 'Connecting…', open: 'Live', offline: 'Offline' };

function showConnection(state) {
  const c = $('connection');
  c.dataset.state = state;
  $('connection-text').textContent = CONNECTION_TEXT[state] ?? state;
  // Lost once it has been live, or when it cannot connect at all; the
  // banner clears by itself when the SDK has reconnected.
  if (state === 'open') linkLost = false;
  else if (state === 'offline' || connections > 0) linkLost = true;
  $('offline').hidden = !linkLost;
}

function notify(text, kind = 'info') {
  const box = $('notices');
  const note = document.createElement('div');
  note.className = `notice notice-${kind}`;
  if (kind === 'error') note.setAttribute('role', 'alert');
  const span = document.createElement('span');
  setText(span, text);
  const close = document.createElement('button');
  close.type = 'button';
  close.className = 'notice-close';
  close.setAttribute('aria-label', 'Dismiss');
  close.textContent = '×';
  note.append(span, close);
  box.prepend(note);
  while (box.children.length > 4) box.lastElementChild.remove();
  // A tap anywhere on a notice dismisses it, so it never stands in the way.
  note.addEventListener('click', () => note.remove());
  setTimeout(() => note.remove(), kind === 'error' ? 8000 : 4000);
}

// ------------------------------------------------------------- the sound

function showSound() {
  const b = $('mute');
  const muted = chime.muted;
  b.setAttribute('aria-pressed', String(muted));
  b.dataset.sound = muted ? 'muted' : (chime.ready ? 'on' : 'locked');
  b.querySelector('.label').textContent = muted ? 'Muted' : (chime.ready ? 'Sound on' : 'Enable sound');
}

function onMute() {
  if (!chime.muted && !chime.ready) { chime.unlock(); return; }
  chime.muted = !chime.muted;
}

// ------------------------------------------------------------ done panel

function openDone() {
  $('done').hidden = false;
  $('done-toggle').setAttribute('aria-expanded', 'true');
  $('done-close').focus();
}

function closeDone() {
  $('done').hidden = true;
  $('done-toggle').setAttribute('aria-expanded', 'false');
}

// ----------------------------------------------------------------- wiring

$('login-form').addEventListener('submit', onLogin);
$('logout').addEventListener('click', () => endSession('You have signed out.', 'info'));
$('mute').addEventListener('click', onMute);
chime.onChange(showSound);
// Any tap may unlock audio after a reload (the sign-in tap did it before).
document.addEventListener('pointerdown', () => { if (!chime.ready) chime.unlock(); }, true);
$('done-toggle').addEventListener('click', () => ($('done').hidden ? openDone() : closeDone()));
$('done-close').addEventListener('click', closeDone);
document.addEventListener('keydown', (e) => { if (e.key === 'Escape' && !$('done').hidden) closeDone(); });
$('cancel-form').addEventListener('submit', onCancelSubmit);
$('cancel-keep').addEventListener('click', () => { cancelling = null; $('cancel-dialog').close(); });
for (const chip of document.querySelectorAll('#cancel-dialog .chip')) {
  chip.addEventListener('click', () => {
    $('cancel-reason').value = chip.dataset.reason;
    $('cancel-error').hidden = true;
    $('cancel-reason').focus();
  });
}
showSound();

// A reload keeps the shift: the token lives in this tab's sessionStorage.
const saved = loadSession();
if (saved && Date.parse(saved.expires_at) > Date.now()) {
  session = saved;
  startShift();
} else {
  if (saved) { session = null; saveSession(); }
  api.getShop().then((s) => {
    shop = { ...shop, ...s };
    setText($('login-shop'), shop.name);
    if (!session) document.title = `Sign in · ${shop.name}`;
  }).catch(() => {});
  showLogin(saved ? 'Your session has expired. Please sign in again.' : '');
}
