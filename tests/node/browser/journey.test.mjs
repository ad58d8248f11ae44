// SPDX-License-Identifier: Apache-2.0
// One order's whole life across the pages, in Debian's chromium: staff log
// in on a tablet, a customer orders on a phone, the order appears on the
// board live, staff move it through every status and the tracking page
// follows; then the daemon restarts under both pages, whose offline
// notices show and clear by themselves, and nothing is missed meanwhile.
import test from 'node:test';
import assert from 'node:assert/strict';
import { control } from '../control.mjs';
import {
  ADMIN_EMAIL, ADMIN_PASSWORD, WEBSOCKET_FAILURE, api, apiLogin, launchBrowser,
  openPage, screenshot, unexpectedProblems,
} from './lib.mjs';

const WAIT = { timeout: 20000 };
// The browser's own lines while the daemon is down: a refused WebSocket
// upgrade, and the failed status reads of a tracking page that refetches.
const WHILE_DOWN = [WEBSOCKET_FAILURE, /Failed to load resource: .* 50[23]/];

let browser;
let staff;
let customer;
let orderId;            // placed by the first test, moved by the second

test.before(async () => {
  browser = await launchBrowser();
  staff = await openPage(browser, { viewport: { width: 1024, height: 768 }, hasTouch: true });
  customer = await openPage(browser, {
    viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true,
    permissions: ['notifications'],
  });
});

test.after(async () => {
  await browser?.close();
  process.stdin.unref();
});

const card = (id) => staff.locator(`li[data-order-id="${id}"]`);
const column = (status, id) =>
  staff.locator(`.column[data-status="${status}"] li[data-order-id="${id}"]`);

async function orderFromThePhone(name, note) {
  await customer.goto('/order/');
  const menu = (await api('GET', '/api/menu')).body.data.filter((m) => m.available);
  await customer.getByRole('button', { name: `Add one ${menu[0].name}`, exact: true }).click(WAIT);
  await customer.getByRole('button', { name: `Add one ${menu[1].name}`, exact: true }).click();
  await customer.getByLabel('Name').fill(name);
  if (note) await customer.getByLabel(/Note for the kitchen/).fill(note);
  await customer.getByRole('button', { name: 'Place order' }).click();
  await customer.waitForURL(/\/track\/\d+/, WAIT);
  const id = Number(new URL(customer.url()).pathname.split('/')[2]);
  await customer.locator('#pickup[data-status="pending"]').waitFor(WAIT);
  await customer.locator('#live[data-state="open"]').waitFor(WAIT);
  return id;
}

test('staff log in and see a customer\'s order arrive live', async () => {
  await staff.goto('/dashboard/');
  await staff.getByLabel('E-mail').fill(ADMIN_EMAIL);
  await staff.getByLabel('Password').fill(ADMIN_PASSWORD);
  await staff.getByRole('button', { name: 'Sign in' }).click();
  await staff.locator('#connection[data-state="open"]').waitFor(WAIT);
  // A marker that a reload would wipe: the order must arrive without one.
  await staff.evaluate(() => { window.notReloaded = true; });

  const id = await orderFromThePhone('สมชาย ใจดี', 'ไม่เผ็ด ขอบคุณครับ');
  await column('pending', id).waitFor(WAIT);
  assert.equal(await staff.evaluate(() => window.notReloaded), true);
  assert.match(await card(id).textContent(), /สมชาย ใจดี/);
  orderId = id;
});

test('staff move it through every status and the tracking page follows', async () => {
  const id = orderId;
  assert.ok(id, 'the first test placed an order');
  for (const status of ['preparing', 'ready']) {
    await card(id).locator(`[data-action="${status}"]`).click(WAIT);
    await column(status, id).waitFor(WAIT);
    await customer.locator(`#pickup[data-status="${status}"]`).waitFor(WAIT);
  }
  await screenshot(staff, 'journey-dashboard-ready');
  await screenshot(customer, 'journey-track-ready');
  await card(id).locator('[data-action="completed"]').click(WAIT);
  await customer.locator('#pickup[data-status="completed"]').waitFor(WAIT);
  await column('ready', id).waitFor({ state: 'detached', ...WAIT });
  const history = (await api('GET', `/api/admin/orders/${id}`, { token: await apiLogin() }))
    .body.data.status_history.map((h) => h.to);
  assert.deepEqual(history, ['pending', 'preparing', 'ready', 'completed']);
  assert.deepEqual(unexpectedProblems(staff), []);
  assert.deepEqual(unexpectedProblems(customer), []);
});

test('a daemon restart shows the offline notices, which clear by themselves', async () => {
  const id = await orderFromThePhone('มานี มีนา');
  await column('pending', id).waitFor(WAIT);
  const token = await apiLogin();

  await control('stop-eventd');
  await staff.locator('#offline').waitFor({ state: 'visible', ...WAIT });
  await customer.locator('#offline').waitFor({ state: 'visible', ...WAIT });
  await screenshot(staff, 'journey-dashboard-offline');
  // Another till moves the order while no live update can flow.
  const moved = await api('PUT', `/api/admin/orders/${id}/status`,
    { token, body: { status: 'preparing' } });
  assert.equal(moved.status, 200);
  await control('start-eventd');

  await staff.locator('#offline').waitFor({ state: 'hidden', ...WAIT });
  await customer.locator('#offline').waitFor({ state: 'hidden', ...WAIT });
  await staff.locator('#connection[data-state="open"]').waitFor(WAIT);
  // Caught up, not reloaded: the change made while down is on both pages.
  await column('preparing', id).waitFor(WAIT);
  await customer.locator('#pickup[data-status="preparing"]').waitFor(WAIT);
  assert.equal(await staff.evaluate(() => window.notReloaded), true);

  // And live again.
  await card(id).locator('[data-action="ready"]').click(WAIT);
  await customer.locator('#pickup[data-status="ready"]').waitFor(WAIT);
  await screenshot(staff, 'journey-dashboard-after-restart');
  await screenshot(customer, 'journey-track-after-restart');
  assert.deepEqual(unexpectedProblems(staff, WHILE_DOWN), []);
  assert.deepEqual(unexpectedProblems(customer, WHILE_DOWN), []);
});
