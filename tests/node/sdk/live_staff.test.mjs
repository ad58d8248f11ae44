// SPDX-License-Identifier: Apache-2.0
// TimingLive on the staff channel: the guide's events with the credential
// in the subprotocol (never the URL), each event once across a dropped
// link, version merging in any order, and refused credentials.
import test from 'node:test';
import assert from 'node:assert/strict';
import { TimingApi, TimingLive, OrderStore } from '../../../web/sdk/timing.js';
import { BASE, adminApi, placeOrder, recordingWebSocket, waitFor, record, logIdsAfter, logEnd } from './lib.mjs';

const unique = () => `${Date.now()}${Math.floor(Math.random() * 1e6)}`;

test('staff channel: newOrder and orderStatusUpdate, the token only in the subprotocol', async () => {
  const admin = await adminApi();
  const token = await admin.token();
  const { WS, opened } = recordingWebSocket();
  let asked = 0;
  const live = new TimingLive({
    baseUrl: BASE, channel: 'admin', WebSocket: WS,
    token: async () => { asked++; return token; },
  });
  const log = record(live);
  assert.equal(live.state, 'offline');
  live.start();
  try {
    await waitFor(() => live.state === 'open', 'open');
    assert.deepEqual(log.states, ['connecting', 'open']);
    assert.ok(asked >= 1, 'the provider is asked before the connect');
    assert.equal(log.connection.length, 1);
    assert.equal(live.epoch, log.connection[0].epoch);

    const order = await placeOrder('สมชาย');
    await waitFor(() => log.newOrder.find((e) => e.order.id === order.id), 'newOrder');
    const seen = log.newOrder.find((e) => e.order.id === order.id);
    assert.equal(seen.msg.type, 'newOrder');
    assert.equal(seen.order.status, 'pending');
    assert.equal(seen.order.customer_info.name, 'สมชาย');
    assert.equal(seen.order.customer_info.phone, '0812345678', 'staff see the phone whole');
    assert.equal(live.store.get(order.id).version, 1);

    await admin.updateOrderStatus(order.id, 'preparing');
    await waitFor(() => log.update.find((e) => e.order.id === order.id), 'orderStatusUpdate');
    const upd = log.update.find((e) => e.order.id === order.id);
    assert.equal(upd.status, 'preparing');
    assert.equal(upd.msg.previous_status, 'pending');
    assert.equal(upd.order.version, 2);
    assert.equal(live.store.get(order.id).status, 'preparing');
    assert.deepEqual(log.order.filter((o) => o.id === order.id).map((o) => o.version), [1, 2]);
    assert.equal(live.lastEventId, upd.msg.event_id);

    assert.equal(opened.length, 1);
    assert.ok(!opened[0].url.includes(token), `token in URL ${opened[0].url}`);
    assert.equal(new URL(opened[0].url).search, '', 'a first connect has no query at all');
    assert.equal(new URL(opened[0].url).pathname, '/admin');
    assert.deepEqual(opened[0].protocols, ['timing.v1', `bearer.${token}`]);
    assert.deepEqual(log.error, []);
  } finally {
    live.stop();
  }
  assert.equal(live.state, 'offline');
});

test('version merge: an older REST answer after a newer event changes nothing', async () => {
  const admin = await adminApi();
  const store = new OrderStore();
  const live = new TimingLive({ baseUrl: BASE, channel: 'admin', WebSocket: recordingWebSocket().WS,
    token: await admin.token(), store });
  const log = record(live);
  live.start();
  try {
    await waitFor(() => live.state === 'open', 'open');
    const order = await placeOrder('เวอร์ชัน');
    const v1 = await admin.getAdminOrder(order.id);            // a REST answer, version 1
    await admin.updateOrderStatus(order.id, 'preparing');
    await waitFor(() => store.get(order.id)?.version === 2, 'the event with version 2');
    const ordersBefore = log.order.length;
    assert.equal(store.merge(v1), false, 'an older version is refused');
    assert.equal(store.get(order.id).status, 'preparing');
    assert.equal(log.order.length, ordersBefore, "no 'order' for a refused merge");

    // A REST answer newer than anything the socket has told: the store
    // takes it, and its event, replayed later on resume, is told once but
    // changes nothing.
    const resumeFrom = live.lastEventId;
    const epoch = live.epoch;
    live.stop();
    const v3 = await admin.updateOrderStatus(order.id, 'ready');
    assert.equal(store.merge(v3), true);
    const again = new TimingLive({ baseUrl: BASE, channel: 'admin', WebSocket: recordingWebSocket().WS,
      token: await admin.token(), store, lastEventId: resumeFrom, epoch });
    const log2 = record(again);
    again.start();
    try {
      await waitFor(() => log2.update.find((e) => e.order.id === order.id), 'the replayed ready event');
      const told = log2.update.filter((e) => e.order.id === order.id);
      assert.equal(told.length, 1);
      assert.equal(told[0].status, 'ready');
      assert.equal(told[0].order.version, 3);
      assert.deepEqual(log2.order.filter((o) => o.id === order.id), [], 'the store already had version 3');
      assert.equal(store.get(order.id).version, 3);
      assert.equal(store.merge({ ...v3, status: 'pending' }), false, 'the same version again is ignored');
      assert.equal(store.all()[0].id >= order.id, true, 'newest first');
    } finally {
      again.stop();
    }
  } finally {
    live.stop();
  }
});

test('a dropped link resumes with last_event_id: the gap is replayed, each event once', async () => {
  const admin = await adminApi();
  const token = await admin.token();
  const { WS, opened } = recordingWebSocket();
  const start = await logEnd(admin);
  const live = new TimingLive({ baseUrl: BASE, channel: 'admin', WebSocket: WS, token,
    backoff: { initial: 50, max: 200 } });
  const log = record(live);
  live.start();
  try {
    await waitFor(() => live.state === 'open', 'open');
    const first = await placeOrder('ก่อน');
    await waitFor(() => log.newOrder.some((e) => e.order.id === first.id), 'first order');

    // Cut the link while the socket still looks open to the SDK, and place
    // orders before it is back.
    opened.at(-1).socket.terminate();
    const during = [await placeOrder('ระหว่าง 1'), await placeOrder('ระหว่าง 2')];
    await admin.updateOrderStatus(first.id, 'preparing');
    await waitFor(() => opened.length >= 2 && live.state === 'open', 'reconnected');
    const resumeUrl = new URL(opened[1].url);
    assert.equal(resumeUrl.searchParams.get('epoch'), live.epoch);
    assert.ok(Number(resumeUrl.searchParams.get('last_event_id')) > start);
    assert.ok(!opened[1].url.includes(token));

    const after = await placeOrder('หลัง');
    await waitFor(() => log.newOrder.some((e) => e.order.id === after.id), 'order after');
    for (const o of during) assert.ok(log.newOrder.some((e) => e.order.id === o.id), `order ${o.id} replayed`);

    const expected = await logIdsAfter(admin, start);
    await waitFor(() => log.eventIds().length >= expected.length, 'every event');
    const ids = log.eventIds();
    assert.equal(new Set(ids).size, ids.length, `an event told twice: ${ids}`);
    assert.deepEqual([...ids].sort((a, b) => a - b), expected);
    assert.deepEqual(log.resync, [], 'the ring held the gap: no resync');
    assert.ok(log.states.includes('offline'));
    assert.equal(log.states.at(-1), 'open');
  } finally {
    live.stop();
  }
});

test('a refused credential: auth is emitted, retries go on, a fresh token opens', async () => {
  const admin = await adminApi();
  const good = await admin.token();
  let current = 'not-a-jwt';
  const { WS, opened } = recordingWebSocket();
  const live = new TimingLive({ baseUrl: BASE, channel: 'admin', WebSocket: WS,
    token: () => current, backoff: { initial: 50, max: 200 } });
  const log = record(live);
  live.start();
  try {
    await waitFor(() => log.auth.length >= 1, "'auth' from the probe");
    assert.equal(log.auth[0].status, 401);
    assert.equal(log.auth[0].code, 'invalid_token');
    await waitFor(() => opened.length >= 5, 'more attempts');
    assert.equal(log.auth.length, 1, 'told once per refused credential');
    assert.ok(!log.states.includes('open'));

    current = good;     // e.g. the app logged in again
    await waitFor(() => live.state === 'open', 'open with the fresh token');
    assert.ok(opened.every((o) => !o.url.includes(good) && !o.url.includes('not-a-jwt')));
  } finally {
    live.stop();
  }

  // A customer's valid token may not open the staff channel: 403.
  const customer = new TimingApi({ baseUrl: BASE });
  const reg = await customer.register({ name: 'ลูกค้า', email: `c-${unique()}@example.com`, password: 'customer-pass' });
  const denied = new TimingLive({ baseUrl: BASE, channel: 'admin', WebSocket: WS, token: reg.token,
    backoff: { initial: 50, max: 200 } });
  const dlog = record(denied);
  denied.start();
  try {
    await waitFor(() => dlog.auth.length >= 1, "'auth' for a customer on /admin");
    assert.equal(dlog.auth[0].status, 403);
  } finally {
    denied.stop();
  }
});

test('a disabled user is cut with disconnect auth; re-enabled, a new login brings the channel back', async () => {
  const admin = await adminApi();
  const email = `staff-${unique()}@example.com`;
  const { user } = await admin.createUser({ name: 'พนักงานกะดึก', email, password: 'staff-pass-1', role: 'staff' });
  const staff = new TimingApi({ baseUrl: BASE });
  await staff.login(email, 'staff-pass-1');
  let provided = 0;
  const live = new TimingLive({ baseUrl: BASE, channel: 'admin', WebSocket: recordingWebSocket().WS,
    token: () => { provided++; return staff.token(); }, backoff: { initial: 50, max: 300 } });
  const log = record(live);
  live.start();
  try {
    await waitFor(() => live.state === 'open', 'open');
    await admin.updateUser(user.id, { disabled: true });
    await waitFor(() => log.disconnect.some((d) => d.reason === 'auth'), 'disconnect auth');
    await waitFor(() => log.auth.length >= 1, "'auth'");
    assert.equal(log.auth[0].status, 401);
    await waitFor(() => live.state !== 'open', 'closed');
    const askedBefore = provided;
    await waitFor(() => provided >= askedBefore + 2, 'the provider asked again on retries');
    await admin.updateUser(user.id, { disabled: false });
    // The disable ended every token issued before it (a new token
    // version): re-enabling does not bring the old one back.
    await staff.login(email, 'staff-pass-1');
    await waitFor(() => live.state === 'open', 'open again');
  } finally {
    live.stop();
  }
});
