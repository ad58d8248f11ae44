// SPDX-License-Identifier: Apache-2.0
// TimingLive across the daemon going away: stopped (orders placed while it
// is down), restarted, Apache's graceful restart recycling sockets, and
// resyncs caught up from /api/admin/events -- each event told once.
import test, { after } from 'node:test';
import assert from 'node:assert/strict';
import { TimingLive } from '../../../web/sdk/timing.js';
import { BASE, adminApi, placeOrder, recordingWebSocket, waitFor, record, logIdsAfter, logEnd,
  harness, releaseStdinAfterTests } from './lib.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

releaseStdinAfterTests(after);

/** Every event in the log after `start` told exactly once, and none before. */
async function assertEachOnce(admin, log, start) {
  const expected = await logIdsAfter(admin, start);
  await waitFor(() => log.eventIds().length >= expected.length,
    `${expected.length} events (have ${log.eventIds().length})`);
  await sleep(300);   // a duplicate would come now
  const ids = log.eventIds();
  assert.equal(new Set(ids).size, ids.length, `an event told twice: ${ids}`);
  assert.deepEqual([...ids].sort((a, b) => a - b), expected);
}

test('daemon stopped: retries go on while it is down, then every event once', async () => {
  const admin = await adminApi();
  const start = await logEnd(admin);
  const { WS, opened } = recordingWebSocket();
  const live = new TimingLive({ baseUrl: BASE, channel: 'admin', WebSocket: WS,
    token: () => admin.token(), backoff: { initial: 100, max: 400 } });
  const log = record(live);
  live.start();
  try {
    await waitFor(() => live.state === 'open', 'open');
    const first = await placeOrder('ก่อนหยุด');
    await waitFor(() => log.newOrder.some((e) => e.order.id === first.id), 'first order');

    await harness('stop-eventd');
    await waitFor(() => live.state !== 'open', 'not open once the daemon stopped');
    assert.ok(log.disconnect.some((d) => d.reason === 'shutdown'), JSON.stringify(log.disconnect));
    const down = [await placeOrder('ตอนหยุด 1'), await placeOrder('ตอนหยุด 2')];
    await admin.updateOrderStatus(first.id, 'preparing');
    const tries = opened.length;
    await waitFor(() => opened.length >= tries + 4, 'retries while the daemon is down');
    assert.notEqual(live.state, 'open');
    assert.deepEqual(log.auth, [], 'a down daemon is not a refused credential');

    await harness('start-eventd');
    await waitFor(() => live.state === 'open', 'open again');
    const after = await placeOrder('หลังเริ่ม');
    await admin.updateOrderStatus(down[0].id, 'ready');
    await waitFor(() => log.newOrder.some((e) => e.order.id === after.id), 'order after the start');

    await assertEachOnce(admin, log, start);
    for (const o of down) assert.ok(log.newOrder.some((e) => e.order.id === o.id), `order ${o.id} caught up`);
    assert.ok(log.resync.some((r) => r.reason === 'restarted' && r.caughtUp), JSON.stringify(log.resync));
    const i = log.states.indexOf('open');
    const later = log.states.slice(i + 1);
    assert.ok(later.includes('offline') && later.includes('connecting'), log.states.join(','));
    assert.equal(log.states.at(-1), 'open');
    assert.equal(live.store.get(down[0].id).status, 'ready');
    assert.equal(live.store.get(first.id).status, 'preparing');
  } finally {
    live.stop();
  }
});

test('daemon restarted: orders at once after it, each once', async () => {
  const admin = await adminApi();
  const start = await logEnd(admin);
  const live = new TimingLive({ baseUrl: BASE, channel: 'admin', WebSocket: recordingWebSocket().WS,
    token: await admin.token(), backoff: { initial: 100, max: 400 } });
  const log = record(live);
  live.start();
  try {
    await waitFor(() => live.state === 'open', 'open');
    const before = await placeOrder('ก่อนรีสตาร์ต');
    await waitFor(() => log.newOrder.some((e) => e.order.id === before.id), 'order before');
    await harness('restart-eventd');
    const right = await placeOrder('ทันทีหลัง');
    await waitFor(() => live.state === 'open' && log.states.filter((s) => s === 'open').length >= 2, 'back');
    const next = await placeOrder('ต่อมา');
    await waitFor(() => log.newOrder.some((e) => e.order.id === next.id), 'order after');
    await assertEachOnce(admin, log, start);
    assert.ok(log.newOrder.some((e) => e.order.id === right.id));
  } finally {
    live.stop();
  }
});

test('a client that started on a daemon that had carried nothing catches up after its restart', async () => {
  const admin = await adminApi();
  await placeOrder('ก่อนทั้งหมด');      // the log is not empty
  await harness('restart-eventd');      // a daemon that has carried nothing yet
  const start = await logEnd(admin);
  const { WS, opened } = recordingWebSocket();
  const live = new TimingLive({ baseUrl: BASE, channel: 'admin', WebSocket: WS,
    token: await admin.token(), backoff: { initial: 100, max: 400 } });
  const log = record(live);
  live.start();
  try {
    await waitFor(() => live.state === 'open', 'open');
    // The daemon names 0 here; resuming from 0 would look like "nothing
    // missed" to the next daemon, so the SDK resumes from the log's end.
    await waitFor(() => live.lastEventId === start, `resume point ${start} (have ${live.lastEventId})`);
    await harness('stop-eventd');
    const down = await placeOrder('ตอนหยุด');
    await harness('start-eventd');
    await waitFor(() => log.newOrder.some((e) => e.order.id === down.id), 'the order placed while it was down');
    assert.ok(opened.slice(1).every((o) => new URL(o.url).searchParams.get('last_event_id') !== '0'));
    await assertEachOnce(admin, log, start);
  } finally {
    live.stop();
  }
});

test('a fresh client resuming from an old point after a restart catches up from the log', async () => {
  const admin = await adminApi();
  const start = await logEnd(admin);
  const early = [await placeOrder('เก่า 1'), await placeOrder('เก่า 2')];
  await admin.updateOrderStatus(early[0].id, 'preparing');
  // Who is connected now still knows its epoch.
  const probe = new TimingLive({ baseUrl: BASE, channel: 'admin', WebSocket: recordingWebSocket().WS,
    token: await admin.token() });
  probe.start();
  await waitFor(() => probe.state === 'open', 'probe open');
  const epoch = probe.epoch;
  probe.stop();

  await harness('restart-eventd');
  await placeOrder('ใหม่');   // the new daemon holds only this one
  const live = new TimingLive({ baseUrl: BASE, channel: 'admin', WebSocket: recordingWebSocket().WS,
    token: await admin.token(), lastEventId: start, epoch });
  const log = record(live);
  live.start();
  try {
    await waitFor(() => log.resync.length >= 1, 'resync');
    assert.deepEqual(log.resync[0], { reason: 'restarted', caughtUp: true });
    await assertEachOnce(admin, log, start);
    assert.equal(live.store.get(early[0].id).status, 'preparing');
  } finally {
    live.stop();
  }

  // A point beyond the end of the log: "unknown"; the SDK takes the log's
  // end as its point and asks the app to reload, and goes on.
  const beyond = new TimingLive({ baseUrl: BASE, channel: 'admin', WebSocket: recordingWebSocket().WS,
    token: await admin.token(), lastEventId: 2000000000, epoch });
  const blog = record(beyond);
  beyond.start();
  try {
    await waitFor(() => blog.resync.length >= 1, 'resync unknown');
    assert.deepEqual(blog.resync[0], { reason: 'unknown', caughtUp: false });
    assert.ok(beyond.lastEventId < 2000000000);
    const o = await placeOrder('หลัง unknown');
    await waitFor(() => blog.newOrder.some((e) => e.order.id === o.id), 'a live order after it');
  } finally {
    beyond.stop();
  }
});

test("Apache's graceful restart: disconnect reconnect, back at once, nothing missed", async () => {
  const admin = await adminApi();
  const start = await logEnd(admin);
  const { WS, opened } = recordingWebSocket();
  const live = new TimingLive({ baseUrl: BASE, channel: 'admin', WebSocket: WS,
    token: await admin.token(), backoff: { initial: 5000, max: 10000 } });
  const log = record(live);
  let cutAt = 0, backAt = 0;
  live.on('disconnect', () => { cutAt = Date.now(); });
  live.on('state', (s) => { if (s === 'open' && cutAt) backAt = Date.now(); });
  live.start();
  try {
    await waitFor(() => live.state === 'open', 'open');
    await placeOrder('ก่อน graceful');
    await harness('graceful');
    await waitFor(() => log.disconnect.some((d) => d.reason === 'reconnect'), 'disconnect reconnect', 30000);
    await waitFor(() => opened.length >= 2 && live.state === 'open', 'reopened');
    // The backoff here is seconds: only "reconnect" comes back at once.
    assert.ok(backAt - cutAt < 3000, `took ${backAt - cutAt} ms`);
    assert.ok(new URL(opened[1].url).searchParams.get('last_event_id'), 'resumed');
    await placeOrder('หลัง graceful');
    await assertEachOnce(admin, log, start);
    assert.deepEqual(log.resync, []);
  } finally {
    live.stop();
  }
});
