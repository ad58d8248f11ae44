// SPDX-License-Identifier: Apache-2.0
// The customer pages in a phone-sized Chromium: the menu and order page
// (/order/) and the tracking page (/track/<id>), against a real stack.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launchBrowser, openPage, screenshot, apiLogin, api, unexpectedProblems } from './lib.mjs';

const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true };
const WAIT = { timeout: 15000 };   // only catches hangs

let browser;
let adminToken;
let menu;

before(async () => {
  browser = await launchBrowser();
  adminToken = await apiLogin();
  const shop = await api('PUT', '/api/admin/shop', { token: adminToken,
    body: { accepting_orders: true } });
  assert.equal(shop.status, 200);
  menu = (await api('GET', '/api/menu')).body.data;
});

after(async () => { await browser?.close(); });

const available = () => menu.filter((item) => item.available);
/** Chromium's own console line for an HTTP error answer the page expected. */
const httpStatus = (code) => new RegExp(`Failed to load resource: the server responded with a status of ${code}`);
const unique = (name) => `${name} ${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;

/** Records what the page asks of the server: POSTs to /api/orders, GETs
 *  of an order's status, the WebSockets it opens and the messages on them. */
function watchRequests(page) {
  const seen = { posts: [], status: [], sockets: 0, messages: [] };
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (url.pathname === '/api/orders' && request.method() === 'POST') seen.posts.push(request);
    const status = /^\/api\/orders\/(\d+)\/status$/.exec(url.pathname);
    if (status) seen.status.push(Number(status[1]));
  });
  page.on('websocket', (socket) => {
    seen.sockets += 1;
    socket.on('framereceived', ({ payload }) => {
      try { seen.messages.push(JSON.parse(payload)); } catch { /* not JSON */ }
    });
  });
  return seen;
}

/** No polling: the status is fetched once on load, and again at most once
 *  per (re)connection of the socket or resync the server asked for. */
function assertNoPolling(seen, id) {
  const fetches = seen.status.filter((n) => n === id).length;
  const resyncs = seen.messages.filter((m) => m.type === 'resync').length;
  assert.ok(fetches >= 1, 'fetched on load');
  assert.ok(fetches <= 1 + seen.sockets + resyncs,
    `${fetches} status requests for ${seen.sockets} socket(s) and ${resyncs} resync(s)`);
  return fetches;
}

/** Spies on system notifications and on the chime's oscillators. */
async function spyOnAlerts(page) {
  await page.addInitScript(() => {
    window.__notifications = [];
    window.__oscillators = 0;
    const Real = window.Notification;
    if (Real) {
      const Spy = function Notification(title, options) {
        window.__notifications.push({ title, body: options && options.body });
        return new Real(title, options);
      };
      Object.defineProperty(Spy, 'permission', { get: () => Real.permission });
      Spy.requestPermission = (...args) => Real.requestPermission(...args);
      Spy.prototype = Real.prototype;
      window.Notification = Spy;
    }
    const create = AudioContext.prototype.createOscillator;
    AudioContext.prototype.createOscillator = function createOscillator() {
      window.__oscillators += 1;
      return create.call(this);
    };
  });
}

/** The whole page as a phone shows it: the viewport stretched to the
 *  page's height, so sticky bars sit where they belong, not mid-page. */
async function phoneShot(page, name) {
  const size = page.viewportSize();
  const height = await page.evaluate(() => document.documentElement.scrollHeight);
  await page.setViewportSize({ width: size.width, height: Math.max(size.height, height) });
  await screenshot(page, name);
  await page.setViewportSize(size);
}

async function setStatus(id, status) {
  const answer = await api('PUT', `/api/admin/orders/${id}/status`, { token: adminToken,
    body: { status } });
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  return answer.body.data;
}

async function adminOrder(id) {
  const answer = await api('GET', `/api/admin/orders/${id}`, { token: adminToken });
  assert.equal(answer.status, 200);
  return answer.body.data;
}

async function ordersNamed(name) {
  const answer = await api('GET', '/api/admin/orders?limit=200', { token: adminToken });
  return answer.body.data.filter((order) => order.customer_info.name === name);
}

/** Places an order through the order page; returns the order id. */
async function placeOrder(page, { name, items }) {
  await page.goto('/order/');
  for (const [item, times] of items) {
    for (let i = 0; i < times; i++) {
      await page.getByRole('button', { name: `Add one ${item.name}`, exact: true }).click(WAIT);
    }
  }
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByRole('button', { name: 'Place order' }).click();
  await page.waitForURL(/\/track\/\d+$/, WAIT);
  return Number(new URL(page.url()).pathname.split('/').pop());
}

test('the order page lists the shop and its menu by category', async () => {
  const page = await openPage(browser, PHONE);
  await page.goto('/order/');
  const shop = (await api('GET', '/api/shop')).body.data;
  await page.getByRole('heading', { level: 1, name: shop.name }).waitFor(WAIT);

  for (const item of menu) {
    const row = page.locator(`.menu-item[data-menu-id="${item.id}"]`);
    await assert.doesNotReject(row.waitFor(WAIT), item.name);
    assert.equal((await row.locator('.name').textContent()).trim(), item.name);
    const add = row.getByRole('button', { name: `Add one ${item.name}`, exact: true });
    if (item.available) {
      assert.equal(await add.count(), 1, `${item.name} can be added`);
    } else {
      assert.equal(await add.count(), 0, `${item.name} is unavailable`);
      assert.match(await row.textContent(), /Sold out/);
    }
  }
  for (const category of new Set(menu.map((item) => item.category || 'Other'))) {
    assert.equal(await page.getByRole('heading', { level: 2, name: category, exact: true }).count(), 1,
      `a heading for ${category}`);
  }

  // The total follows the quantities (display only; the server has the last word).
  const [first, second] = available();
  await page.getByRole('button', { name: `Add one ${first.name}`, exact: true }).click();
  await page.getByRole('button', { name: `Add one ${first.name}`, exact: true }).click();
  await page.getByRole('button', { name: `Add one ${second.name}`, exact: true }).click();
  await page.getByRole('button', { name: `Remove one ${second.name}`, exact: true }).click();
  await page.getByRole('button', { name: `Add one ${second.name}`, exact: true }).click();
  const minor = Math.round(first.price * 100) * 2 + Math.round(second.price * 100);
  const total = await page.locator('#total').textContent();
  assert.equal(Number(total.replace(/[^\d.]/g, '')), minor / 100, total);
  assert.match(await page.locator('#count').textContent(), /3 items/);
  await phoneShot(page, 'order-menu-phone');

  // Quantities stay within 1..99.
  const count = page.getByLabel(`Quantity of ${first.name}`, { exact: true });
  await count.fill('150');
  await count.dispatchEvent('change');
  assert.equal(await count.inputValue(), '99');
  assert.equal(await page.getByRole('button', { name: `Add one ${first.name}`, exact: true })
    .isDisabled(), true);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('a missing name shows the field error and places nothing', async () => {
  const page = await openPage(browser, PHONE);
  const seen = watchRequests(page);
  await page.goto('/order/');
  const [item] = available();
  await page.getByRole('button', { name: `Add one ${item.name}`, exact: true }).click(WAIT);
  await page.getByRole('button', { name: 'Place order' }).click();

  const name = page.getByLabel('Name', { exact: true });
  await page.locator('#name-error').filter({ hasText: /name/i }).waitFor(WAIT);
  assert.equal(await name.getAttribute('aria-invalid'), 'true');
  assert.equal(seen.posts.length, 0, 'nothing was sent');

  // The server's 422 details land next to their fields too.
  const customer = unique('Invalid e-mail');
  await name.fill(customer);
  await page.getByLabel('E-mail (optional)').fill('not-an-email');
  await page.getByRole('button', { name: 'Place order' }).click();
  await page.locator('#email-error').filter({ hasText: /.+/ }).waitFor(WAIT);
  assert.equal(await page.locator('#name-error').textContent(), '');
  assert.equal(seen.posts.length, 1);
  assert.match(page.url(), /\/order\/$/);
  assert.deepEqual(await ordersNamed(customer), [], 'no order was placed');

  await phoneShot(page, 'order-errors-phone');
  assert.deepEqual(unexpectedProblems(page, [httpStatus(422)]), []);
  await page.context().close();
});

test('an order placed with a Thai name is tracked live to ready, with a notification', async (t) => {
  const page = await openPage(browser, { ...PHONE, permissions: ['notifications'] });
  await spyOnAlerts(page);
  const seen = watchRequests(page);

  const [first, second] = available();
  const name = unique('สมหญิง ใจดี');
  await page.goto('/order/');
  await page.getByRole('button', { name: `Add one ${first.name}`, exact: true }).click(WAIT);
  await page.getByRole('button', { name: `Add one ${first.name}`, exact: true }).click();
  await page.getByRole('button', { name: `Add one ${second.name}`, exact: true }).click();
  await page.getByLabel(`Note for ${first.name} (optional)`).fill('ไม่ใส่ถั่ว');
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Phone (optional)').fill('0812345678');
  // A double tap places one order: the button is disabled while sending,
  // and the request carries an Idempotency-Key.
  await page.getByRole('button', { name: 'Place order' }).dblclick();
  await page.waitForURL(/\/track\/\d+$/, WAIT);
  const id = Number(new URL(page.url()).pathname.split('/').pop());
  assert.equal(seen.posts.length, 1);
  assert.ok(seen.posts[0].headers()['idempotency-key'], 'Idempotency-Key sent');
  assert.equal((await ordersNamed(name)).length, 1, 'exactly one order');

  const order = await adminOrder(id);
  assert.equal(order.customer_info.name, name);
  assert.equal(order.items.find((line) => line.menu_id === first.id).note, 'ไม่ใส่ถั่ว');
  await page.locator('#pickup-number').filter({ hasText: String(order.pickup_number) }).waitFor(WAIT);
  assert.match(await page.locator('#for').textContent(), new RegExp(name));
  assert.match(await page.locator('#headline').textContent(), /received/i);
  assert.equal(Number((await page.locator('#total').textContent()).replace(/[^\d.]/g, '')), order.total);
  assert.match(await page.locator('#lines').textContent(), /ไม่ใส่ถั่ว/);

  // Live: the connection is up before staff act.
  await page.locator('#live[data-state="open"]').waitFor(WAIT);
  await phoneShot(page, 'track-pending-phone');
  await page.getByRole('button', { name: /Notify me/ }).click();
  await page.locator('#notify-state').filter({ hasText: /notify you/ }).waitFor(WAIT);
  const socketsWhenLive = seen.sockets;
  assert.equal(socketsWhenLive, 1, 'one socket for the order');
  const oscillatorsBefore = await page.evaluate(() => window.__oscillators);

  await setStatus(id, 'preparing');
  await page.locator('#headline').filter({ hasText: /preparing/i }).waitFor(WAIT);
  assert.match(await page.locator('#steps li[aria-current="step"]').textContent(), /Preparing/);
  assert.equal(await page.getByRole('button', { name: 'Cancel order' }).isVisible(), false,
    'no cancel once preparing');

  await setStatus(id, 'ready');
  await page.locator('#pickup[data-status="ready"]').waitFor(WAIT);
  await page.locator('#headline').filter({ hasText: /ready for pickup/i }).waitFor(WAIT);
  await page.waitForFunction(() => window.__notifications.length > 0, null, WAIT);
  const notifications = await page.evaluate(() => window.__notifications);
  assert.equal(notifications.length, 1);
  assert.match(notifications[0].title, new RegExp(`\\b${order.pickup_number}\\b.*ready`));
  assert.ok(await page.evaluate(() => window.__oscillators) > oscillatorsBefore, 'the chime played');

  // The changes came over the WebSocket, not by polling the status.
  const updates = seen.messages.filter((m) => m.type === 'orderStatusUpdate' && m.order.id === id);
  assert.deepEqual(updates.map((m) => m.status), ['preparing', 'ready']);
  assertNoPolling(seen, id);
  const fetches = seen.status.length;
  await page.waitForTimeout(3000);
  assert.equal(seen.status.length, fetches, 'nothing fetched while waiting');
  assert.equal(seen.sockets, socketsWhenLive, 'the socket stayed up');
  assert.equal(new URL(page.url()).pathname, `/track/${id}`, 'never reloaded');

  await phoneShot(page, 'track-ready-phone');

  await t.test('the fragment link opens the order in a fresh browser without the cookie', async () => {
    const link = await page.locator('#share-link').inputValue();
    assert.match(link, new RegExp(`/track/${id}#t=[^&]+$`));
    const fresh = await openPage(browser, PHONE);
    const freshSeen = watchRequests(fresh);
    await fresh.goto(link);
    await fresh.locator('#pickup-number').filter({ hasText: String(order.pickup_number) }).waitFor(WAIT);
    await fresh.locator('#headline').filter({ hasText: /ready for pickup/i }).waitFor(WAIT);
    const cookies = await fresh.context().cookies();
    assert.deepEqual(cookies.filter((c) => c.name.startsWith('timing_track_')), []);
    // Live there too, until the order is final.
    await fresh.locator('#live[data-state="open"]').waitFor(WAIT);
    await setStatus(id, 'completed');
    await fresh.locator('#headline').filter({ hasText: /picked up/i }).waitFor(WAIT);
    await page.locator('#headline').filter({ hasText: /picked up/i }).waitFor(WAIT);
    assert.ok(freshSeen.messages.some((m) => m.type === 'orderStatusUpdate' && m.status === 'completed'));
    assertNoPolling(freshSeen, id);
    // A final order needs no socket any more.
    await fresh.locator('#live').waitFor({ state: 'hidden', ...WAIT });
    assert.deepEqual(fresh.problems, []);
    await fresh.context().close();
  });

  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test("another order's id without a credential shows not found", async () => {
  const [item] = available();
  const other = await api('POST', '/api/orders', {
    body: { customer_info: { name: unique('Someone else') }, items: [{ menu_id: item.id, quantity: 1 }] },
    headers: { 'Idempotency-Key': unique('k').replace(/\s/g, '-') },
  });
  assert.equal(other.status, 201);
  const { id } = other.body.data;

  const page = await openPage(browser, PHONE);
  for (const path of [`/track/${id}`, `/track/${id}#t=not-the-token`, '/track/999999999', '/track/abc']) {
    await page.goto('about:blank');
    await page.goto(path);
    await page.getByRole('heading', { name: 'Order not found' }).waitFor(WAIT);
    assert.equal(await page.locator('#order').isVisible(), false, path);
    assert.equal(await page.locator('#pickup-number').textContent(), '', path);
  }
  await phoneShot(page, 'track-not-found-phone');
  assert.deepEqual(unexpectedProblems(page, [httpStatus(404)]), []);
  await page.context().close();
});

test('the customer cancels a pending order after confirming', async () => {
  const page = await openPage(browser, PHONE);
  const seen = watchRequests(page);
  const cancels = [];
  page.on('request', (r) => { if (/\/api\/orders\/\d+\/cancel$/.test(r.url())) cancels.push(r); });
  const [item] = available();
  const id = await placeOrder(page, { name: unique('ลูกค้า ยกเลิก'), items: [[item, 1]] });
  await page.locator('#headline').filter({ hasText: /received/i }).waitFor(WAIT);

  // Changing one's mind in the dialog keeps the order.
  await page.getByRole('button', { name: 'Cancel order' }).click();
  await page.getByRole('button', { name: 'Keep my order' }).click();
  assert.equal(cancels.length, 0);
  assert.equal((await adminOrder(id)).status, 'pending');

  await page.getByRole('button', { name: 'Cancel order' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Yes, cancel my order' }).click();
  await page.locator('#headline').filter({ hasText: /cancelled/i }).waitFor(WAIT);
  assert.equal(cancels.length, 1);
  assert.equal((await adminOrder(id)).status, 'cancelled');
  assert.equal(await page.locator('#pickup').getAttribute('data-status'), 'cancelled');
  assert.equal(await page.getByRole('button', { name: 'Cancel order' }).isVisible(), false);
  assertNoPolling(seen, id);
  await phoneShot(page, 'track-cancelled-phone');

  // Back on the menu, the page links to the order placed from this tab.
  await page.goto('/order/');
  await page.getByRole('link', { name: /see how it is going/ }).click(WAIT);
  await page.waitForURL(new RegExp(`/track/${id}$`), WAIT);
  await page.locator('#headline').filter({ hasText: /cancelled/i }).waitFor(WAIT);

  // The kitchen starts while the customer is deciding: the dialog closes
  // and the page says why.
  const late = await placeOrder(page, { name: unique('Late canceller'), items: [[item, 1]] });
  await page.locator('#live[data-state="open"]').waitFor(WAIT);
  await page.getByRole('button', { name: 'Cancel order' }).click();
  await page.getByRole('dialog').waitFor(WAIT);
  await setStatus(late, 'preparing');
  await page.locator('#headline').filter({ hasText: /preparing/i }).waitFor(WAIT);
  await page.getByRole('dialog').waitFor({ state: 'hidden', ...WAIT });
  await page.locator('#cancel-error').filter({ hasText: /already started/i }).waitFor(WAIT);
  assert.equal(cancels.length, 1);
  assert.equal((await adminOrder(late)).status, 'preparing');

  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('a dropped connection shows the offline notice, which clears itself on catching up', async () => {
  const page = await openPage(browser, PHONE);
  const seen = watchRequests(page);
  // The page's order socket goes through here: passed to the server, or
  // refused while `refuse` is set (a connection lost on the way).
  let refuse = false;
  const proxied = [];
  await page.routeWebSocket(/\/orders\/\d+/, (socket) => {
    if (refuse) {
      socket.close({ code: 1006 }).catch(() => {});
      return;
    }
    proxied.push({ socket, server: socket.connectToServer() });
  });
  const [item] = available();
  const id = await placeOrder(page, { name: unique('Offline ออฟไลน์'), items: [[item, 1]] });
  await page.locator('#live[data-state="open"]').waitFor(WAIT);
  assert.equal(await page.locator('#offline').isVisible(), false);

  refuse = true;
  await proxied[0].socket.close({ code: 1006 });
  await proxied[0].server.close().catch(() => {});
  await setStatus(id, 'preparing');        // missed while the page is cut off
  await page.locator('#offline').waitFor({ state: 'visible', ...WAIT });
  assert.notEqual(await page.locator('#live').getAttribute('data-state'), 'open');
  assert.match(await page.locator('#headline').textContent(), /received/i);

  refuse = false;                          // the connection comes back
  await page.locator('#live[data-state="open"]').waitFor({ timeout: 45000 });
  await page.locator('#headline').filter({ hasText: /preparing/i }).waitFor(WAIT);
  await page.locator('#offline').waitFor({ state: 'hidden', ...WAIT });
  assert.equal(new URL(page.url()).pathname, `/track/${id}`, 'never reloaded');
  assertNoPolling(seen, id);

  await setStatus(id, 'ready');
  await page.locator('#pickup[data-status="ready"]').waitFor(WAIT);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('a closed shop shows that it is not taking orders', async () => {
  const page = await openPage(browser, PHONE);
  const closed = await api('PUT', '/api/admin/shop', { token: adminToken,
    body: { accepting_orders: false } });
  assert.equal(closed.status, 200);
  try {
    await page.goto('/order/');
    await page.getByText(/not taking orders now/i).waitFor(WAIT);
    assert.equal(await page.getByRole('button', { name: 'Closed now' }).isDisabled(), true);
    const [item] = available();
    assert.equal(await page.getByRole('button', { name: `Add one ${item.name}`, exact: true })
      .isDisabled(), true);
      await phoneShot(page, 'order-closed-phone');
  } finally {
    await api('PUT', '/api/admin/shop', { token: adminToken, body: { accepting_orders: true } });
  }
  assert.deepEqual(page.problems, []);
  await page.context().close();
});
