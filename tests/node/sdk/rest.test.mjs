// SPDX-License-Identifier: Apache-2.0
// TimingApi against the real API: every helper, the envelope unpacked,
// and TimingError's fields on the API's refusals.
import test from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { TimingApi, TimingError, newIdempotencyKey } from '../../../web/sdk/timing.js';
import { BASE, adminApi, placeOrder } from './lib.mjs';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const unique = () => `${Date.now()}${Math.floor(Math.random() * 1e6)}`;

/** The TimingError a promise rejects with. */
async function refusal(promise) {
  try {
    await promise;
  } catch (e) {
    assert.ok(e instanceof TimingError, `not a TimingError: ${e}`);
    return e;
  }
  assert.fail('expected a TimingError');
}

test('open endpoints: health, shop, menu', async () => {
  const api = new TimingApi({ baseUrl: BASE });
  const health = await api.health();
  assert.equal(health.status, 'ok');
  const shop = await api.getShop();
  assert.equal(shop.currency, 'THB');
  assert.equal(typeof shop.accepting_orders, 'boolean');
  const menu = await api.getMenu();
  assert.ok(Array.isArray(menu.items) && menu.items.length > 0);
  assert.equal(menu.count, menu.items.length);
  assert.equal(menu.next_cursor, null);
  assert.ok(menu.items.some((m) => /[\u0E00-\u0E7F]/.test(m.name)), 'Thai names come through');
});

test('auth and users: register, login, me, createUser, listUsers, updateUser', async () => {
  const api = new TimingApi({ baseUrl: BASE });
  const email = `sdk-${unique()}@example.com`;
  const reg = await api.register({ name: 'สมหญิง', email, password: 'secret-pass-1' });
  assert.equal(reg.user.role, 'customer');
  assert.ok(reg.token && reg.expires_at);
  assert.equal(await api.token(), null, 'register does not log in');
  const login = await api.login(email.toUpperCase(), 'secret-pass-1');
  assert.equal(login.user.id, reg.user.id);
  assert.equal(await api.token(), login.token, 'login makes its token the client token');
  assert.deepEqual((await api.me()).user, login.user);

  const admin = await adminApi();
  const staffEmail = `staff-${unique()}@example.com`;
  const { user: staff } = await admin.createUser({ name: 'พนักงาน', email: staffEmail, password: 'staff-pass-1', role: 'staff' });
  assert.equal(staff.role, 'staff');
  const users = await admin.listUsers();
  assert.ok(users.items.some((u) => u.id === staff.id));
  assert.equal(users.count, users.items.length);
  const { user: renamed } = await admin.updateUser(staff.id, { name: 'พนักงานใหม่' });
  assert.equal(renamed.name, 'พนักงานใหม่');

  const taken = await refusal(admin.createUser({ name: 'x', email: staffEmail, password: 'staff-pass-1', role: 'staff' }));
  assert.equal(taken.status, 409);
  assert.equal(taken.code, 'email_taken');
  const forbidden = await refusal(api.listUsers());
  assert.equal(forbidden.status, 403);
  assert.equal(forbidden.code, 'forbidden');
});

test('a token provider is asked before every request (sync and async)', async () => {
  const admin = await adminApi();
  const token = await admin.token();
  let calls = 0;
  const api = new TimingApi({ baseUrl: BASE, token: async () => { calls++; return token; } });
  await api.me();
  await api.websocketStats();
  assert.equal(calls, 2);
  api.setToken(() => 'not-a-jwt');
  const bad = await refusal(api.me());
  assert.equal(bad.status, 401);
  assert.equal(bad.code, 'invalid_token');
});

test('menu: create, update, delete (admin)', async () => {
  const admin = await adminApi();
  const item = await admin.createMenuItem({ name: `ต้มยำ ${unique()}`, description: 'เผ็ด', category: 'Soup', price: 85.5, available: true });
  assert.equal(item.price, 85.5);
  const changed = await admin.updateMenuItem(item.id, { price: 90 });
  assert.equal(changed.price, 90);
  await admin.deleteMenuItem(item.id);
  const menu = await admin.getMenu();
  const gone = menu.items.find((m) => m.id === item.id);
  assert.ok(!gone || gone.available === false, 'a deleted item is no longer available');

  const invalid = await refusal(admin.createMenuItem({ name: '', price: -1 }));
  assert.equal(invalid.status, 422);
  assert.equal(invalid.code, 'validation_failed');
  assert.ok(invalid.details.length >= 1);
  assert.ok(invalid.details.every((d) => typeof d.field === 'string' && typeof d.message === 'string'));
});

test('shop: a closed shop refuses orders with 409 shop_closed', async () => {
  const admin = await adminApi();
  const shop = await admin.getShop();
  try {
    const closed = await admin.updateShop({ accepting_orders: false });
    assert.equal(closed.accepting_orders, false);
    const err = await refusal(placeOrder());
    assert.equal(err.status, 409);
    assert.equal(err.code, 'shop_closed');
  } finally {
    await admin.updateShop({ accepting_orders: shop.accepting_orders });
  }
});

test('createOrder: a generated Idempotency-Key, and the same key places the order once', async () => {
  const sent = [];
  const recordingFetch = (url, init) => { sent.push(init.headers); return fetch(url, init); };
  const api = new TimingApi({ baseUrl: BASE, fetch: recordingFetch });
  const menu = (await api.getMenu()).items.filter((m) => m.available);
  const body = { customer_info: { name: 'ทดสอบ ซ้ำ', phone: '0899999999' }, items: [{ menu_id: menu[0].id, quantity: 2, note: 'ไม่เผ็ด' }] };

  const a = await api.createOrder(body);
  const b = await api.createOrder(body);
  const keys = sent.filter((h) => h['Idempotency-Key']).map((h) => h['Idempotency-Key']);
  assert.equal(keys.length, 2);
  assert.match(keys[0], UUID);
  assert.notEqual(keys[0], keys[1]);
  assert.notEqual(a.id, b.id, 'without a given key, two calls are two orders');
  assert.ok(a.tracking_token);
  assert.equal(a.customer_info.phone, '0899999999', 'the create answer shows the phone whole');
  assert.equal(a.items[0].subtotal, a.items[0].price * 2);

  const key = await newIdempotencyKey();
  const first = await api.createOrder(body, { idempotencyKey: key });
  const again = await api.createOrder(body, { idempotencyKey: key });
  assert.equal(again.id, first.id, 'the same key gives the first answer again');
  const reused = await refusal(api.createOrder({ ...body, note: 'อื่น' }, { idempotencyKey: key }));
  assert.equal(reused.status, 422);
  assert.equal(reused.code, 'idempotency_key_reused');
});

test('createOrder: 422 carries the field details', async () => {
  const api = new TimingApi({ baseUrl: BASE });
  const menu = (await api.getMenu()).items;
  const err = await refusal(api.createOrder({ customer_info: { name: 'x' }, items: [{ menu_id: menu[0].id, quantity: 100 }] }));
  assert.equal(err.status, 422);
  assert.equal(err.code, 'validation_failed');
  assert.ok(err.details.some((d) => d.field === 'items[0].quantity'), JSON.stringify(err.details));
  assert.equal(err.retryAfter, null);
  assert.ok(err.message.length > 0);
});

test('idempotency keys without randomUUID or without a global crypto', async () => {
  // Node 18 has no global crypto (Node 19 added it): the descriptor may be
  // undefined, and the real one comes from node:crypto.
  const saved = Object.getOwnPropertyDescriptor(globalThis, 'crypto');
  const real = globalThis.crypto ?? (await import('node:crypto')).webcrypto;
  try {
    Object.defineProperty(globalThis, 'crypto', { value: { getRandomValues: (a) => real.getRandomValues(a) }, configurable: true, writable: true });
    const k1 = await newIdempotencyKey();
    assert.match(k1, UUID);
    delete globalThis.crypto;
    assert.equal(globalThis.crypto, undefined);
    const k2 = await newIdempotencyKey();
    assert.match(k2, UUID);
    assert.notEqual(k1, k2);
  } finally {
    if (saved) Object.defineProperty(globalThis, 'crypto', saved);
    else delete globalThis.crypto;
  }
});

test('customer reads: tracking token, own token, listMyOrders, cancelOrder', async () => {
  const customer = new TimingApi({ baseUrl: BASE });
  await customer.register({ name: 'ลูกค้า', email: `c-${unique()}@example.com`, password: 'customer-pass' })
    .then((r) => customer.setToken(r.token));
  const menu = (await customer.getMenu()).items.filter((m) => m.available);
  const mine = await customer.createOrder({ customer_info: { name: 'ลูกค้า', phone: '0812345678' }, items: [{ menu_id: menu[0].id, quantity: 1 }] });

  const viaOwnToken = await customer.getOrderStatus(mine.id);
  assert.equal(viaOwnToken.id, mine.id);
  assert.equal(viaOwnToken.customer_info.phone, '081****678', 'customers see the phone masked');
  const listed = await customer.listMyOrders({ limit: 10 });
  assert.ok(listed.items.some((o) => o.id === mine.id));
  assert.ok('next_cursor' in listed && typeof listed.count === 'number');

  const walkIn = await placeOrder('เดินเข้า');
  const anonymous = new TimingApi({ baseUrl: BASE });
  const viaTracking = await anonymous.getOrderStatus(walkIn.id, { trackingToken: walkIn.tracking_token });
  assert.equal(viaTracking.id, walkIn.id);
  assert.equal(viaTracking.tracking_token, undefined);

  const notFound = await refusal(anonymous.getOrderStatus(walkIn.id, { trackingToken: 'wrong-token' }));
  assert.equal(notFound.status, 404);
  assert.equal(notFound.code, 'not_found');
  const noCredential = await refusal(anonymous.getOrderStatus(walkIn.id));
  assert.equal(noCredential.status, 404);

  const cancelled = await anonymous.cancelOrder(walkIn.id, { trackingToken: walkIn.tracking_token });
  assert.equal(cancelled.status, 'cancelled');
  const again = await anonymous.cancelOrder(walkIn.id, { trackingToken: walkIn.tracking_token });
  assert.equal(again.status, 'cancelled', 'cancelling twice is still a 200');
});

test('staff: listOrders paging, getAdminOrder, updateOrderStatus with its refusals', async () => {
  const admin = await adminApi();
  const a = await placeOrder('หนึ่ง');
  const b = await placeOrder('สอง');
  const page1 = await admin.listOrders({ status: ['pending'], limit: 1 });
  assert.equal(page1.items.length, 1);
  assert.equal(page1.count, 1);
  assert.notEqual(page1.next_cursor, null);
  const page2 = await admin.listOrders({ status: 'pending', limit: 1, cursor: page1.next_cursor });
  assert.ok(page2.items[0].id < page1.items[0].id, 'newest first, the cursor continues');

  const full = await admin.getAdminOrder(a.id);
  assert.equal(full.status_history[0].from, null);
  assert.equal(full.status_history[0].to, 'pending');

  const preparing = await admin.updateOrderStatus(a.id, 'preparing', { reason: 'เริ่มทำ', ifVersion: a.version });
  assert.equal(preparing.status, 'preparing');
  assert.equal(preparing.version, a.version + 1);

  const stale = await refusal(admin.updateOrderStatus(a.id, 'ready', { ifVersion: a.version }));
  assert.equal(stale.status, 412);
  assert.equal(stale.code, 'precondition_failed');

  const unknown = await refusal(admin.updateOrderStatus(a.id, 'eaten'));
  assert.equal(unknown.status, 422);
  assert.ok(unknown.details.some((d) => d.field === 'status'));

  const done = await admin.updateOrderStatus(a.id, 'completed');
  assert.equal(done.status, 'completed');
  const final = await refusal(admin.updateOrderStatus(a.id, 'pending'));
  assert.equal(final.status, 409);
  assert.equal(final.code, 'invalid_transition');
  assert.equal(final.retryAfter, null);

  const missing = await refusal(admin.getAdminOrder(2147480000));
  assert.equal(missing.status, 404);
  assert.equal(missing.code, 'not_found');

  const notCancellable = await refusal(new TimingApi({ baseUrl: BASE }).cancelOrder(a.id, { trackingToken: a.tracking_token }));
  assert.equal(notCancellable.status, 409);
  await admin.updateOrderStatus(b.id, 'cancelled', { reason: 'ทดสอบ' });
});

test('staff: events, websocketStats, summary, summaryCsv', async () => {
  const admin = await adminApi();
  const order = await placeOrder('สรุป');
  const all = await admin.events({ after: 0, limit: 1000 });
  assert.ok(all.items.length > 0);
  const mine = all.items.find((e) => e.type === 'newOrder' && e.order.id === order.id)
    ?? (await admin.events({ after: all.next_cursor ?? 0, limit: 1000 })).items.find((e) => e.order.id === order.id);
  assert.ok(mine, 'the new order is in the event log');
  assert.equal(typeof mine.event_id, 'number');
  assert.ok(mine.created_at);
  await placeOrder('สรุป ต่อ');     // an event after mine
  const one = await admin.events({ after: mine.event_id - 1, limit: 1 });
  assert.equal(one.items.length, 1);
  assert.equal(one.next_cursor, one.items[0].event_id, 'a full page with more behind it names the next after');
  const rest = await admin.events({ after: one.next_cursor, limit: 1000 });
  assert.equal(rest.next_cursor ?? null, null, 'the last page names none');

  const badLimit = await refusal(admin.events({ limit: 5000 }));
  assert.equal(badLimit.status, 422);
  assert.ok(badLimit.details.some((d) => d.field === 'limit'));

  const stats = await admin.websocketStats();
  assert.equal(typeof stats.connections.total, 'number');
  assert.equal(typeof stats.uptime_seconds, 'number');

  const summary = await admin.summary();
  assert.match(summary.date, /^\d{4}-\d{2}-\d{2}$/);
  assert.ok(summary.orders >= 1);
  const csv = await admin.summaryCsv({ date: summary.date });
  assert.equal(typeof csv, 'string');
  assert.ok(csv.split('\n').length >= 2, csv.slice(0, 200));
  assert.ok(csv.includes(String(order.id)));
  const badDate = await refusal(admin.summary({ date: 'yesterday' }));
  assert.equal(badDate.status, 422);
});

test('429 from login carries retryAfter', async () => {
  const api = new TimingApi({ baseUrl: BASE });
  const email = `limit-${unique()}@example.com`;
  await api.register({ name: 'จำกัด', email, password: 'right-password' });
  let err;
  for (let i = 0; i < 12; i++) {
    err = await refusal(api.login(email, 'wrong-password'));
    if (err.status === 429) break;
    assert.equal(err.status, 401);
    assert.equal(err.code, 'invalid_credentials');
  }
  assert.equal(err.status, 429);
  assert.ok(err.retryAfter > 0, `retryAfter ${err.retryAfter}`);
  assert.equal(err.code, 'rate_limited');
});

test('a server that cannot be reached is status 0, network_error', async () => {
  const port = await new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
  const api = new TimingApi({ baseUrl: `http://127.0.0.1:${port}` });
  const err = await refusal(api.health());
  assert.equal(err.status, 0);
  assert.equal(err.code, 'network_error');
  assert.deepEqual(err.details, []);

  // A server that accepts and never answers: the request's timeout.
  const held = [];
  const silent = net.createServer((socket) => held.push(socket));
  await new Promise((r) => silent.listen(0, '127.0.0.1', r));
  try {
    const slow = new TimingApi({ baseUrl: `http://127.0.0.1:${silent.address().port}`, timeout: 500 });
    const t = await refusal(slow.getShop());
    assert.equal(t.status, 0);
    assert.equal(t.code, 'network_error');
  } finally {
    for (const socket of held) socket.destroy();
    silent.close();
  }
});
