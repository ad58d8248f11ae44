// SPDX-License-Identifier: Apache-2.0
// TimingLive on a customer's order channel: a tracking token or the
// customer's own token in the subprotocol, the tracking cookie with
// ['timing.v1'] alone, masked contact details, and resync by refetching.
import test from 'node:test';
import assert from 'node:assert/strict';
import { TimingApi, TimingLive } from '../../../web/sdk/timing.js';
import { BASE, adminApi, placeOrder, recordingWebSocket, waitFor, record } from './lib.mjs';

const unique = () => `${Date.now()}${Math.floor(Math.random() * 1e6)}`;

test('tracking token: the order own updates only, phone masked, token not in the URL', async () => {
  const admin = await adminApi();
  const order = await placeOrder('ติดตาม');
  const other = await placeOrder('คนอื่น');
  const { WS, opened } = recordingWebSocket();
  const live = new TimingLive({ baseUrl: BASE, channel: { order: order.id }, WebSocket: WS,
    trackingToken: order.tracking_token });
  const log = record(live);
  live.start();
  try {
    await waitFor(() => live.state === 'open', 'open');
    assert.equal(opened.length, 1);
    assert.equal(new URL(opened[0].url).pathname, `/orders/${order.id}`);
    assert.ok(!opened[0].url.includes(order.tracking_token), opened[0].url);
    assert.deepEqual(opened[0].protocols, ['timing.v1', `tracking.${order.tracking_token}`]);
    assert.ok(log.connection[0].last_event_id > 0, "the order channel names the order's creation event");
    // The order is fetched once the socket is open: nothing missed before it.
    await waitFor(() => live.store.get(order.id), 'the refetched order');
    assert.equal(live.store.get(order.id).customer_info.phone, '081****678');

    await admin.updateOrderStatus(other.id, 'preparing');
    await admin.updateOrderStatus(order.id, 'preparing');
    await waitFor(() => log.update.length >= 1, 'orderStatusUpdate');
    await admin.updateOrderStatus(order.id, 'ready');
    await waitFor(() => log.update.length >= 2, 'second update');
    assert.deepEqual(log.update.map((u) => [u.order.id, u.status]), [[order.id, 'preparing'], [order.id, 'ready']]);
    assert.equal(log.update[1].order.customer_info.phone, '081****678', 'customers see the phone masked');
    assert.deepEqual(log.newOrder, []);
    assert.equal(live.store.get(order.id).status, 'ready');
    assert.equal(live.store.get(other.id), undefined);
    assert.equal(live.lastEventId, log.update[1].msg.event_id);
  } finally {
    live.stop();
  }
});

test("the customer's own token opens the channel of their order", async () => {
  const admin = await adminApi();
  const customer = new TimingApi({ baseUrl: BASE });
  const reg = await customer.register({ name: 'ลูกค้าประจำ', email: `c-${unique()}@example.com`, password: 'customer-pass' });
  customer.setToken(reg.token);
  const menu = (await customer.getMenu()).items.filter((m) => m.available);
  const order = await customer.createOrder({ customer_info: { name: 'ลูกค้าประจำ' }, items: [{ menu_id: menu[0].id, quantity: 1 }] });
  const { WS, opened } = recordingWebSocket();
  const live = new TimingLive({ baseUrl: BASE, channel: { order: order.id }, WebSocket: WS, token: reg.token });
  const log = record(live);
  live.start();
  try {
    await waitFor(() => live.state === 'open', 'open');
    assert.deepEqual(opened[0].protocols, ['timing.v1', `bearer.${reg.token}`]);
    assert.ok(!opened[0].url.includes(reg.token));
    await admin.updateOrderStatus(order.id, 'cancelled', { reason: 'หมด' });
    await waitFor(() => log.update.length === 1, 'the cancel');
    assert.equal(log.update[0].status, 'cancelled');
    assert.equal(live.store.get(order.id).status, 'cancelled');
  } finally {
    live.stop();
  }
});

test("the tracking cookie alone: ['timing.v1'] from a same-origin page", async () => {
  const admin = await adminApi();
  const order = await placeOrder('คุกกี้');
  const cookie = `timing_track_${order.id}=${order.tracking_token}`;
  // What a browser page of this origin sends on its own.
  const { WS, opened } = recordingWebSocket({ headers: { Cookie: cookie, Origin: BASE } });
  const api = new TimingApi({ baseUrl: BASE,
    fetch: (url, init) => fetch(url, { ...init, headers: { ...init.headers, Cookie: cookie } }) });
  const live = new TimingLive({ baseUrl: BASE, channel: { order: order.id }, WebSocket: WS, api });
  const log = record(live);
  live.start();
  try {
    await waitFor(() => live.state === 'open', 'open');
    assert.deepEqual(opened[0].protocols, ['timing.v1']);
    await waitFor(() => live.store.get(order.id), 'the order fetched with the cookie');
    await admin.updateOrderStatus(order.id, 'preparing');
    await waitFor(() => log.update.length === 1, 'update');
    assert.equal(log.update[0].status, 'preparing');
    assert.deepEqual(log.error, []);
  } finally {
    live.stop();
  }
});

test('resync on the order channel refetches the order', async () => {
  const admin = await adminApi();
  const order = await placeOrder('รีซิงก์');
  await admin.updateOrderStatus(order.id, 'preparing');

  // A resume point the server never issued: resync "unknown".
  const beyond = new TimingLive({ baseUrl: BASE, channel: { order: order.id }, WebSocket: recordingWebSocket().WS,
    trackingToken: order.tracking_token, lastEventId: 2000000000, epoch: null });
  const log = record(beyond);
  beyond.start();
  try {
    await waitFor(() => log.resync.length === 1, 'resync');
    assert.deepEqual(log.resync[0], { reason: 'unknown', caughtUp: true });
    assert.equal(beyond.store.get(order.id).status, 'preparing');
    assert.equal(beyond.lastEventId, log.connection[0].last_event_id, "resumes from this socket's point now");
    await admin.updateOrderStatus(order.id, 'ready');
    await waitFor(() => log.update.length === 1, 'a live update after the resync');
    assert.equal(log.update[0].status, 'ready');
  } finally {
    beyond.stop();
  }

  // Another epoch (the database was restored): the store starts over.
  const { WS, opened } = recordingWebSocket();
  const other = new TimingLive({ baseUrl: BASE, channel: { order: order.id }, WebSocket: WS,
    trackingToken: order.tracking_token, lastEventId: log.update[0].msg.event_id, epoch: 'deadbeef' });
  other.store.merge({ id: 999999999, version: 1, status: 'pending' });
  const olog = record(other);
  other.start();
  try {
    await waitFor(() => olog.resync.length === 1, 'resync epoch');
    assert.equal(new URL(opened[0].url).searchParams.get('epoch'), 'deadbeef');
    assert.deepEqual(olog.resync[0], { reason: 'epoch', caughtUp: true });
    assert.equal(other.store.get(999999999), undefined, "the other history's orders are gone");
    assert.equal(other.store.get(order.id).status, 'ready');
    assert.notEqual(other.epoch, 'deadbeef');
  } finally {
    other.stop();
  }
});
