// SPDX-License-Identifier: Apache-2.0
// TimingLive's app-level ping: answered pings keep the link open; a link
// that goes silent (a proxy that stops passing bytes, as a dead Wi-Fi or
// NAT does) is noticed, and the SDK keeps trying until it is back.
import test from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { TimingApi, TimingLive } from '../../../web/sdk/timing.js';
import { BASE, adminApi, placeOrder, recordingWebSocket, waitFor, record, logIdsAfter, logEnd } from './lib.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A TCP relay to Apache that can be frozen: it then passes no byte either
 *  way and answers no new connection, without closing anything. */
async function freezableRelay() {
  const target = new URL(BASE);
  const sockets = new Set();
  const relay = { frozen: false };
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on('error', () => {});
    client.on('close', () => sockets.delete(client));
    if (relay.frozen) return;            // accepted, never answered
    const upstream = net.connect(Number(target.port), target.hostname);
    sockets.add(upstream);
    upstream.on('error', () => client.destroy());
    upstream.on('close', () => { sockets.delete(upstream); client.destroy(); });
    client.on('close', () => upstream.destroy());
    client.on('data', (d) => { if (!relay.frozen) upstream.write(d); });
    upstream.on('data', (d) => { if (!relay.frozen) client.write(d); });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  relay.url = `http://127.0.0.1:${server.address().port}`;
  relay.close = () => { for (const s of sockets) s.destroy(); server.close(); };
  return relay;
}

test('answered pings keep one socket open', async () => {
  const admin = await adminApi();
  const { WS, opened } = recordingWebSocket();
  let pings = 0, pongs = 0;
  class Counting extends WS {
    constructor(...a) {
      super(...a);
      this.on('message', (d) => { if (JSON.parse(String(d)).type === 'pong') pongs++; });
    }
    send(data, ...rest) {
      if (data === '{"type":"ping"}') pings++;
      return super.send(data, ...rest);
    }
  }
  const live = new TimingLive({ baseUrl: BASE, channel: 'admin', WebSocket: Counting,
    token: await admin.token(), pingInterval: 150, pongTimeout: 400 });
  const log = record(live);
  live.start();
  try {
    await waitFor(() => live.state === 'open', 'open');
    await sleep(2500);
    assert.ok(pings >= 10, `${pings} pings`);
    assert.ok(pongs >= pings - 1, `${pongs} pongs for ${pings} pings`);
    assert.equal(opened.length, 1, 'no reconnect');
    assert.deepEqual(log.states, ['connecting', 'open']);
  } finally {
    live.stop();
  }
});

test('a silent link goes offline, retries without giving up, and resumes', async () => {
  const admin = await adminApi();
  const relay = await freezableRelay();
  const start = await logEnd(admin);
  const { WS, opened } = recordingWebSocket();
  const live = new TimingLive({ baseUrl: relay.url, channel: 'admin', WebSocket: WS,
    token: await admin.token(), api: new TimingApi({ baseUrl: BASE, token: await admin.token() }),
    pingInterval: 200, pongTimeout: 500, connectTimeout: 600, backoff: { initial: 50, max: 300 } });
  const log = record(live);
  live.start();
  try {
    await waitFor(() => live.state === 'open', 'open');
    const before = await placeOrder('ก่อนเงียบ');
    await waitFor(() => log.newOrder.some((e) => e.order.id === before.id), 'order before');

    relay.frozen = true;
    const frozenAt = Date.now();
    const mark = log.states.length;
    let offlineAt = 0;
    live.on('state', (s) => { if (s === 'offline' && !offlineAt) offlineAt = Date.now(); });
    await waitFor(() => log.states.slice(mark).includes('offline'), 'offline once pings go unanswered', 5000);
    assert.ok(offlineAt - frozenAt < 2000, `noticed after ${offlineAt - frozenAt} ms`);
    const during = await placeOrder('ตอนเงียบ');
    const tries = opened.length;
    await waitFor(() => opened.length >= tries + 5, 'five more attempts while silent', 15000);
    assert.notEqual(live.state, 'open');
    assert.ok(log.states.filter((s) => s === 'connecting').length >= 5);

    relay.frozen = false;
    await waitFor(() => live.state === 'open', 'open once the link is back', 15000);
    const after = await placeOrder('หลังเงียบ');
    await waitFor(() => log.newOrder.some((e) => e.order.id === after.id), 'order after');
    assert.ok(log.newOrder.some((e) => e.order.id === during.id), 'the order placed while silent');
    const expected = await logIdsAfter(admin, start);
    await waitFor(() => log.eventIds().length >= expected.length, 'every event');
    const ids = log.eventIds();
    assert.equal(new Set(ids).size, ids.length);
    assert.deepEqual([...ids].sort((a, b) => a - b), expected);
    assert.deepEqual(log.auth, []);
  } finally {
    live.stop();
    relay.close();
  }
});

test('a server that accepts and never answers: offline, and still trying', async () => {
  const held = [];
  const server = net.createServer((s) => { held.push(s); s.on('error', () => {}); });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${server.address().port}`;
  const { WS, opened } = recordingWebSocket();
  const live = new TimingLive({ baseUrl: url, channel: 'admin', WebSocket: WS, token: 'x',
    api: new TimingApi({ baseUrl: url, timeout: 300 }),
    connectTimeout: 300, backoff: { initial: 20, max: 100 } });
  const log = record(live);
  live.start();
  try {
    await waitFor(() => opened.length >= 6, 'six attempts');
    assert.ok(!log.states.includes('open'));
    assert.ok(log.states.includes('offline'));
    assert.deepEqual(log.auth, [], 'no answer is not a refusal');
  } finally {
    live.stop();
    for (const s of held) s.destroy();
    server.close();
  }
  assert.equal(live.state, 'offline');
  const n = opened.length;
  await sleep(400);
  assert.equal(opened.length, n, 'stop() ends the retries');
});
