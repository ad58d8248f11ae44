// SPDX-License-Identifier: Apache-2.0
// The SDK in a real browser (Debian's chromium): the module loads from
// /sdk/timing.js with no build step, a page that placed an order follows it
// with the tracking cookie alone (['timing.v1']), and the browser's
// `online` event hurries a reconnect that the backoff would have put off.
import test, { after } from 'node:test';
import assert from 'node:assert/strict';
import { launchBrowser, openPage, WEBSOCKET_FAILURE } from '../browser/lib.mjs';
import { BASE, adminApi, waitFor, harness, releaseStdinAfterTests } from './lib.mjs';

releaseStdinAfterTests(after);

test('in chromium: cookie-only order channel, online hurries the reconnect', async () => {
  const admin = await adminApi();
  const browser = await launchBrowser();
  try {
    const page = await openPage(browser);
    // Errors from the SDK's doing (the landing page has no favicon.ico, which
    // is no concern of the SDK's).
    const problems = [];
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.location().url.endsWith('/favicon.ico')) problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(`${BASE}/`);
    // Record what the SDK opens, then place an order and follow it.
    const orderId = await page.evaluate(async () => {
      const Native = window.WebSocket;
      window.opened = [];
      window.WebSocket = class extends Native {
        constructor(url, protocols) { super(url, protocols); window.opened.push({ url, protocols }); }
      };
      const { TimingApi, TimingLive } = await import('/sdk/timing.js');
      const api = new TimingApi();
      const menu = (await api.getMenu()).items.filter((m) => m.available);
      const order = await api.createOrder({ customer_info: { name: 'เบราว์เซอร์' },
        items: [{ menu_id: menu[0].id, quantity: 1 }] });
      window.log = { states: [], updates: [], auth: [] };
      const live = new TimingLive({ channel: { order: order.id }, backoff: { initial: 30000, max: 60000 } });
      live.on('state', (s) => window.log.states.push([s, Date.now()]));
      live.on('orderStatusUpdate', (o, status) => window.log.updates.push(status));
      live.on('auth', (e) => window.log.auth.push(e.status));
      window.live = live;
      live.start();
      return order.id;
    });
    const state = () => page.evaluate(() => window.live.state);
    await waitFor(async () => (await state()) === 'open', 'open with the cookie');
    const opened = await page.evaluate(() => window.opened);
    assert.deepEqual(opened[0].protocols, ['timing.v1']);
    assert.equal(new URL(opened[0].url).search, '');
    // 'open' comes when the socket opens; the order itself arrives by the
    // SDK's REST fetch just after, so wait for it rather than race it.
    await waitFor(async () => page.evaluate(() => window.live.store.get(window.live._orderId) !== undefined),
      'the order in the store');

    await admin.updateOrderStatus(orderId, 'preparing');
    await waitFor(async () => (await page.evaluate(() => window.log.updates.length)) === 1, 'update');

    await harness('stop-eventd');
    await waitFor(async () => (await state()) === 'offline', 'offline');
    await admin.updateOrderStatus(orderId, 'ready');   // while the daemon is down
    await harness('start-eventd');
    // The retry is up to 30 s away; the browser coming back online goes now.
    const t0 = Date.now();
    await page.context().setOffline(true);
    await page.context().setOffline(false);
    await waitFor(async () => (await state()) === 'open', 'open after online', 10000);
    assert.ok(Date.now() - t0 < 5000, `reopened after ${Date.now() - t0} ms`);
    await waitFor(async () => (await page.evaluate(() => window.live.store.get(window.live._orderId).status)) === 'ready',
      'the change made while down (resync: refetch)');
    const log = await page.evaluate(() => window.log);
    assert.deepEqual(log.auth, []);
    assert.deepEqual(problems.filter((p) => !WEBSOCKET_FAILURE.test(p)), []);
    await page.evaluate(() => window.live.stop());
  } finally {
    await browser.close();
  }
});
