// SPDX-License-Identifier: Apache-2.0
// The staff dashboard (/dashboard/) in chromium against a real stack:
// sign-in, live new orders with their cue, the status buttons, cancel with
// a reason, optimistic updates rolled back on a stale card, mute, the
// connection state across a daemon outage, a refused token, and the
// tablet layouts.  Screenshots go to TIMING_SCREENSHOTS.
//
// The outage test asks the harness to stop and start timing-eventd
// (control.mjs); run by hand without the harness, set TIMING_NO_CONTROL=1.
import test from 'node:test';
import assert from 'node:assert/strict';
import {
  ADMIN_EMAIL, ADMIN_PASSWORD, WEBSOCKET_FAILURE,
  api, apiLogin, launchBrowser, openPage, screenshot, unexpectedProblems,
} from './lib.mjs';
import { control } from '../control.mjs';

const WAIT = { timeout: 20000 };   // only catches hangs
let browser;
let token;
let menu;

test.before(async () => {
  browser = await launchBrowser();
  token = await apiLogin();
  const answer = await api('GET', '/api/menu');
  menu = answer.body.data.filter((m) => m.available);
  assert.ok(menu.length >= 3, 'the demo menu has items');
});

test.after(async () => {
  await browser?.close();
  // control() leaves stdin read by its readline: let the process end.
  process.stdin.unref();
});

// Each test's pages close after it, so their sockets do not pile up.
const opened = [];
async function newPage(options) {
  const page = await openPage(browser, options);
  opened.push(page);
  return page;
}
test.afterEach(async () => {
  for (const page of opened.splice(0)) await page.context().close();
});

async function placeOrder(name, lines, note) {
  const body = {
    customer_info: { name, phone: '0812345678' },
    items: lines.map(([i, quantity, itemNote]) => ({
      menu_id: menu[i % menu.length].id, quantity, ...(itemNote ? { note: itemNote } : {}),
    })),
    ...(note ? { note } : {}),
  };
  const answer = await api('POST', '/api/orders', { body });
  assert.equal(answer.status, 201, JSON.stringify(answer.body));
  return answer.body.data;
}

async function setStatus(id, status, extra = {}) {
  const answer = await api('PUT', `/api/admin/orders/${id}/status`,
    { token, body: { status, ...extra } });
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  return answer.body.data;
}

async function serverOrder(id) {
  const answer = await api('GET', `/api/admin/orders/${id}`, { token });
  assert.equal(answer.status, 200);
  return answer.body.data;
}

/** The page moves a card before the server answers: wait for the server. */
async function serverStatus(id, status) {
  const deadline = Date.now() + WAIT.timeout;
  let order = await serverOrder(id);
  while (order.status !== status && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    order = await serverOrder(id);
  }
  assert.equal(order.status, status);
  return order;
}

/** Counts the oscillators the page starts: the chime's notes. */
async function countChimes(page) {
  await page.addInitScript(() => {
    window.chimeNotes = 0;
    const start = OscillatorNode.prototype.start;
    OscillatorNode.prototype.start = function count(...args) {
      window.chimeNotes += 1;
      return start.apply(this, args);
    };
  });
}

async function signIn(page, email = ADMIN_EMAIL, password = ADMIN_PASSWORD) {
  await page.goto('/dashboard/');
  await page.fill('#login-email', email);
  await page.fill('#login-password', password);
  await page.click('#login-submit');
  await boardReady(page);
}

/** Live and with the REST lists loaded: from here on, a new order can only
 *  reach the page over the socket. */
async function boardReady(page) {
  await page.waitForSelector('#connection[data-state="open"]', WAIT);
  await page.waitForSelector('body[data-loaded="true"]', WAIT);
}

const card = (page, id) => page.locator(`.card[data-order-id="${id}"]`);
const inColumn = (page, status, id) =>
  page.locator(`.column[data-status="${status}"] .card[data-order-id="${id}"]`);

test('sign-in: a wrong password is refused with the message, the right one opens the board; reload keeps the shift; log out', async () => {
  const page = await newPage();
  await page.goto('/dashboard/');
  await page.waitForSelector('#login-form');
  assert.equal(await page.isVisible('#app'), false);
  await screenshot(page, 'dashboard-login');

  await page.fill('#login-email', ADMIN_EMAIL);
  await page.fill('#login-password', 'not-the-password');
  await page.click('#login-submit');
  const message = page.locator('#login-message');
  await message.waitFor({ state: 'visible', ...WAIT });
  const refused = await api('POST', '/api/auth/login',
    { body: { email: ADMIN_EMAIL, password: 'not-the-password' } });
  assert.equal(refused.status, 401);
  assert.equal((await message.textContent()).trim(), refused.body.error.message);
  assert.equal(await page.isVisible('#app'), false);
  await screenshot(page, 'dashboard-login-refused');

  await page.fill('#login-password', ADMIN_PASSWORD);
  await page.click('#login-submit');
  await boardReady(page);
  assert.equal(await page.isVisible('#login'), false);
  const me = await api('GET', '/api/auth/me', { token });
  assert.equal(await page.textContent('#user-name'), me.body.data.user.name);
  const shop = (await api('GET', '/api/shop')).body.data;
  assert.equal(await page.textContent('#shop-name'), shop.name);
  const stored = await page.evaluate(() => sessionStorage.getItem('timing.dashboard.session'));
  assert.ok(JSON.parse(stored).token, 'the token is kept in sessionStorage');

  // A reload keeps the shift.
  await page.reload();
  await boardReady(page);
  assert.equal(await page.isVisible('#login'), false);

  await page.click('#logout');
  await page.locator('#login').waitFor({ state: 'visible', ...WAIT });
  assert.match(await page.textContent('#login-message'), /signed out/i);
  assert.equal(await page.evaluate(() => sessionStorage.getItem('timing.dashboard.session')), null);
  await page.reload();
  await page.locator('#login').waitFor({ state: 'visible', ...WAIT });
  assert.deepEqual(unexpectedProblems(page, [/401/]), []);
});

test('a new order appears live with its cue, and the buttons move it pending → preparing → ready → completed', async () => {
  const page = await newPage();
  await countChimes(page);
  await signIn(page);
  const notesBefore = await page.evaluate(() => window.chimeNotes);

  const order = await placeOrder('สมชาย', [[0, 2, 'ไม่ใส่ถั่ว'], [7, 1]], 'ข้าวผัดไม่เผ็ด');
  const c = inColumn(page, 'pending', order.id);
  await c.waitFor(WAIT);
  // The cue: a highlighted card, a count in the title, the chime, and words
  // for screen readers.
  assert.ok(await c.evaluate((n) => n.classList.contains('is-new')));
  assert.match(await page.title(), /^\(1 new\) /);
  assert.equal(await page.textContent('#announce'), `New order #${order.pickup_number} for สมชาย`);
  await page.waitForFunction((n) => window.chimeNotes > n, notesBefore, WAIT);

  // What the card shows.
  assert.equal(await c.locator('.pickup-number').textContent(), String(order.pickup_number));
  const name = c.locator('.customer');
  assert.equal(await name.textContent(), 'สมชาย');
  assert.equal(await name.getAttribute('lang'), 'th');
  const items = await c.locator('.item').allTextContents();
  assert.equal(items.length, 2);
  assert.ok(items[0].includes(`2×${order.items[0].menu_name}`), items[0]);
  assert.ok(items[0].includes('ไม่ใส่ถั่ว'));
  assert.equal(await c.locator('.order-note-text').textContent(), 'ข้าวผัดไม่เผ็ด');
  assert.match(await c.locator('.total').textContent(), new RegExp(`${order.total}\\.00`));
  assert.match(await c.locator('.total').textContent(), /฿/);
  assert.match(await c.locator('.age').textContent(), /just now|min ago/);
  await screenshot(page, 'dashboard-new-order');

  // Touching the card acknowledges it.
  await c.locator('.items').click();
  await page.waitForFunction(() => !document.title.startsWith('('), null, WAIT);

  await c.locator('button[data-action="preparing"]').click();
  await inColumn(page, 'preparing', order.id).waitFor(WAIT);
  await serverStatus(order.id, 'preparing');

  // The smaller back button corrects a mis-tap.
  await inColumn(page, 'preparing', order.id).locator('button[data-action="pending"]').click();
  await inColumn(page, 'pending', order.id).waitFor(WAIT);
  await serverStatus(order.id, 'pending');
  await inColumn(page, 'pending', order.id).locator('button[data-action="preparing"]').click();
  await inColumn(page, 'preparing', order.id).locator('button[data-action="ready"]').click();
  await inColumn(page, 'ready', order.id).waitFor(WAIT);
  await serverStatus(order.id, 'ready');
  assert.equal(await inColumn(page, 'ready', order.id).locator('button[data-action="completed"]').count(), 1);
  await inColumn(page, 'ready', order.id).locator('button[data-action="completed"]').click();
  await card(page, order.id).waitFor({ state: 'detached', ...WAIT });

  const done = await serverStatus(order.id, 'completed');
  assert.deepEqual(done.status_history.map((h) => h.to),
    ['pending', 'preparing', 'pending', 'preparing', 'ready', 'completed']);

  // Today's finished orders are one tap away.
  await page.click('#done-toggle');
  const row = page.locator(`#done-list .done-row[data-order-id="${order.id}"]`);
  await row.waitFor(WAIT);
  assert.equal(await row.getAttribute('data-status'), 'completed');
  await screenshot(page, 'dashboard-done-today');
  await page.click('#done-close');
  assert.deepEqual(unexpectedProblems(page), []);
});

test('cancel asks for a reason and sends it', async () => {
  const page = await newPage();
  await signIn(page);
  const order = await placeOrder('สมหญิง ใจดี', [[1, 1, 'เผ็ดน้อย']]);
  const c = inColumn(page, 'pending', order.id);
  await c.waitFor(WAIT);
  await c.locator('button[data-action="cancel"]').click();
  const dialog = page.locator('#cancel-dialog');
  await dialog.waitFor({ state: 'visible', ...WAIT });
  assert.match(await page.textContent('#cancel-title'), new RegExp(`#${order.pickup_number}`));

  // No reason: refused on the page, nothing sent.
  await page.click('#cancel-confirm');
  await page.locator('#cancel-error').waitFor({ state: 'visible', ...WAIT });
  assert.ok(await dialog.isVisible());
  assert.equal((await serverOrder(order.id)).status, 'pending');

  // "Keep order" leaves it alone.
  await page.click('#cancel-keep');
  await dialog.waitFor({ state: 'hidden', ...WAIT });
  assert.equal(await c.count(), 1);

  await c.locator('button[data-action="cancel"]').click();
  await dialog.waitFor({ state: 'visible', ...WAIT });
  await page.fill('#cancel-reason', 'หมดวัตถุดิบ — out of basil');
  await screenshot(page, 'dashboard-cancel-dialog');
  await page.click('#cancel-confirm');
  await card(page, order.id).waitFor({ state: 'detached', ...WAIT });

  const cancelled = await serverStatus(order.id, 'cancelled');
  const last = cancelled.status_history.at(-1);
  assert.equal(last.to, 'cancelled');
  assert.equal(last.reason, 'หมดวัตถุดิบ — out of basil');
  await page.click('#done-toggle');
  const row = page.locator(`#done-list .done-row[data-order-id="${order.id}"]`);
  await row.waitFor(WAIT);
  assert.equal(await row.getAttribute('data-status'), 'cancelled');
  assert.deepEqual(unexpectedProblems(page), []);
});

test('optimistic update: the card moves at once, and a stale card refused with 412 rolls back with the error and the latest version', async () => {
  const page = await newPage();
  // The page's live link, with the power to hold back one order's updates
  // so that the page's copy goes stale (as if it missed them).
  let heldId = null;
  let held = 0;
  await page.routeWebSocket(/\/admin$/, (ws) => {
    const server = ws.connectToServer();
    ws.onMessage((m) => server.send(m));
    server.onMessage((m) => {
      const msg = JSON.parse(m);
      if (msg.type === 'orderStatusUpdate' && msg.order.id === heldId) { held += 1; return; }
      ws.send(m);
    });
  });
  await signIn(page);
  const order = await placeOrder('วิชัย', [[3, 1]], 'Takeaway');
  const c = inColumn(page, 'pending', order.id);
  await c.waitFor(WAIT);
  assert.equal(await c.getAttribute('data-version'), '1');

  // Behind the page's back: preparing, then back to pending (version 3).
  heldId = order.id;
  await setStatus(order.id, 'preparing');
  const now = await setStatus(order.id, 'pending');
  assert.equal(now.version, 3);
  const deadline = Date.now() + 15000;
  while (held < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.equal(held, 2, 'both updates reached the page\'s socket and were held back');
  assert.equal(await c.getAttribute('data-version'), '1');

  // Hold the PUT to see the optimistic state before the server answers.
  let release;
  const released = new Promise((r) => { release = r; });
  let sent;
  const sending = new Promise((r) => { sent = r; });
  await page.route('**/api/admin/orders/*/status', async (route) => {
    sent(route.request());
    await released;
    await route.continue();
  });
  await c.locator('button[data-action="preparing"]').click();
  const moving = inColumn(page, 'preparing', order.id);
  await moving.waitFor(WAIT);
  assert.equal(await moving.getAttribute('aria-busy'), 'true');
  assert.ok(await moving.locator('button[data-action="ready"]').isDisabled());
  assert.equal((await sending).headers()['if-match'], '"1"');
  release();

  // The server refuses (412): back in pending, refreshed, with the message.
  const back = inColumn(page, 'pending', order.id);
  await back.locator('.card-error').waitFor(WAIT);
  await page.waitForFunction((id) => document.querySelector(`.card[data-order-id="${id}"]`)
    ?.dataset.version === '3', order.id, WAIT);
  const refusal = await api('PUT', `/api/admin/orders/${order.id}/status`,
    { token, body: { status: 'preparing' }, headers: { 'If-Match': '"1"' } });
  assert.equal(refusal.status, 412);
  assert.ok((await back.locator('.card-error').textContent()).includes(refusal.body.error.message));
  assert.equal((await serverOrder(order.id)).status, 'pending');
  await screenshot(page, 'dashboard-stale-refused');

  // With the fresh version the same button now works.
  await page.unroute('**/api/admin/orders/*/status');
  heldId = null;
  await back.locator('button[data-action="preparing"]').click();
  await inColumn(page, 'preparing', order.id).waitFor(WAIT);
  await serverStatus(order.id, 'preparing');
  await page.waitForFunction((id) => document.querySelector(`.card[data-order-id="${id}"]`)
    ?.getAttribute('aria-busy') === null, order.id, WAIT);
  assert.equal(await inColumn(page, 'preparing', order.id).locator('.card-error').count(), 0);
  assert.deepEqual(unexpectedProblems(page, [/412/]), []);
});

test('mute: the toggle silences the chime and is remembered after a reload', async () => {
  const page = await newPage();
  await countChimes(page);
  await signIn(page);
  const mute = page.locator('#mute');
  assert.equal(await mute.getAttribute('aria-pressed'), 'false');
  await mute.click();
  assert.equal(await mute.getAttribute('aria-pressed'), 'true');
  assert.equal(await page.evaluate(() => localStorage.getItem('timing.dashboard.muted')), '1');

  await page.reload();
  await boardReady(page);
  assert.equal(await mute.getAttribute('aria-pressed'), 'true');
  await page.click('#col-pending');   // a tap: audio may start from here on
  const order = await placeOrder('Ploy', [[6, 3]]);
  const c = inColumn(page, 'pending', order.id);
  await c.waitFor(WAIT);
  assert.ok(await c.evaluate((n) => n.classList.contains('is-new')), 'still the visible cue');
  await page.waitForTimeout(500);
  assert.equal(await page.evaluate(() => window.chimeNotes), 0, 'no sound while muted');

  await mute.click();
  assert.equal(await mute.getAttribute('aria-pressed'), 'false');
  assert.equal(await page.evaluate(() => localStorage.getItem('timing.dashboard.muted')), null);
  const second = await placeOrder('Ploy', [[8, 1]]);
  await inColumn(page, 'pending', second.id).waitFor(WAIT);
  await page.waitForFunction(() => window.chimeNotes > 0, null, WAIT);
  assert.deepEqual(unexpectedProblems(page), []);
});

test('a refused token (the user is disabled) goes back to sign-in with a message', async () => {
  const email = `kitchen-${Date.now()}@example.test`;
  const password = 'kitchen-pass-1';
  const created = await api('POST', '/api/admin/users',
    { token, body: { name: 'ครัว Kitchen', email, password, role: 'staff' } });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const page = await newPage();
  await signIn(page, email, password);
  assert.equal(await page.textContent('#user-name'), 'ครัว Kitchen');

  const off = await api('PATCH', `/api/admin/users/${created.body.data.user.id}`,
    { token, body: { disabled: true } });
  assert.equal(off.status, 200);
  await page.locator('#login').waitFor({ state: 'visible', ...WAIT });
  assert.match(await page.textContent('#login-message'), /sign in again/i);
  assert.equal(await page.evaluate(() => sessionStorage.getItem('timing.dashboard.session')), null);
  assert.deepEqual(unexpectedProblems(page, [/401/, WEBSOCKET_FAILURE]), []);
});

test('the connection state and the offline banner follow a daemon outage; orders placed meanwhile arrive',
  { skip: process.env.TIMING_NO_CONTROL ? 'needs the test harness (control.mjs)' : false }, async () => {
    const page = await newPage();
    // What the page saw, printed when the test fails.
    const log = [];
    page.on('console', (m) => log.push(`${m.type()}: ${m.text()}`));
    page.on('response', (r) => {
      if (r.url().includes('/api/')) log.push(`${r.status()} ${r.request().method()} ${new URL(r.url()).pathname}`);
    });
    page.on('websocket', (ws) => {
      log.push(`socket ${ws.url()}`);
      ws.on('framereceived', (f) => log.push(`  < ${String(f.payload).slice(0, 120)}`));
      ws.on('close', () => log.push('  closed'));
    });
    try {
      await outage(page);
    } catch (err) {
      console.log(`the page's log:\n${log.join('\n')}`);
      throw err;
    }
  });

async function outage(page) {
  await signIn(page);
  assert.equal(await page.textContent('#connection-text'), 'Live');
  assert.equal(await page.isVisible('#offline'), false);

  await control('stop-eventd');
  await page.locator('#offline').waitFor({ state: 'visible', ...WAIT });
  assert.notEqual(await page.getAttribute('#connection', 'data-state'), 'open');
  const during = await placeOrder('มานี', [[2, 1]]);
  await screenshot(page, 'dashboard-offline');

  await control('start-eventd');
  await page.waitForSelector('#connection[data-state="open"]', { timeout: 60000 });
  await page.locator('#offline').waitFor({ state: 'hidden', ...WAIT });
  await inColumn(page, 'pending', during.id).waitFor(WAIT);
  assert.deepEqual(unexpectedProblems(page, [WEBSOCKET_FAILURE, /503/, /502/]), []);
}

for (const [label, viewport] of [['portrait', { width: 768, height: 1024 }],
  ['landscape', { width: 1024, height: 768 }]]) {
  test(`tablet ${label} ${viewport.width}×${viewport.height}: fits, big touch targets, Thai text`, async () => {
    // A few orders in every column.
    const a = await placeOrder('สมชาย', [[0, 2, 'ไม่ใส่ถั่ว'], [7, 1]], 'ข้าวผัดไม่เผ็ด');
    const b = await placeOrder('Anna', [[8, 1, 'oat milk']]);
    const c = await placeOrder('สมหญิง ใจดี', [[1, 1, 'เผ็ดน้อย ไข่ดาวไม่สุก'], [2, 2], [4, 1]]);
    const d = await placeOrder('วิชัย', [[3, 1]], 'Takeaway, extra rice please');
    await setStatus(c.id, 'preparing');
    await setStatus(d.id, 'preparing');
    await setStatus(d.id, 'ready');

    const page = await newPage({ viewport, hasTouch: true });
    await signIn(page);
    for (const [status, o] of [['pending', a], ['pending', b], ['preparing', c], ['ready', d]]) {
      await inColumn(page, status, o.id).waitFor(WAIT);
    }
    const fits = await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
    assert.ok(fits, 'no sideways scrolling');
    // Every control on the board at least 44×44 CSS pixels.
    const small = await page.evaluate(() => [...document.querySelectorAll('#app button, #app a')]
      .filter((n) => n.offsetParent !== null && !n.closest('[hidden]'))
      .map((n) => ({ text: n.textContent.trim(), box: n.getBoundingClientRect() }))
      .filter(({ box }) => box.width < 44 || box.height < 44)
      .map(({ text, box }) => `${text} ${Math.round(box.width)}×${Math.round(box.height)}`));
    assert.deepEqual(small, [], 'touch targets');
    const font = await inColumn(page, 'pending', a.id).locator('.customer')
      .evaluate((n) => getComputedStyle(n).fontFamily);
    assert.match(font, /Noto Sans Thai/);
    const pickup = await inColumn(page, 'pending', a.id).locator('.pickup')
      .evaluate((n) => parseFloat(getComputedStyle(n).fontSize));
    assert.ok(pickup >= 32, `pickup number ${pickup}px`);
    await screenshot(page, `dashboard-tablet-${label}`);
    if (label === 'landscape') await screenshot(page, 'dashboard-board');
    assert.deepEqual(unexpectedProblems(page), []);
  });
}
