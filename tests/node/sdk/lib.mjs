// SPDX-License-Identifier: Apache-2.0
// Shared set-up of the SDK tests: the stack at TIMING_BASE_URL, the `ws`
// package as the WebSocket (Node 18 has none), and small waiting helpers.
import WebSocket from 'ws';
import { TimingApi } from '../../../web/sdk/timing.js';
import { control } from '../control.mjs';

export const BASE = process.env.TIMING_BASE_URL;
export const ADMIN_EMAIL = process.env.TIMING_ADMIN_EMAIL;
export const ADMIN_PASSWORD = process.env.TIMING_ADMIN_PASSWORD;
if (!BASE || !ADMIN_EMAIL || !ADMIN_PASSWORD) {
  throw new Error('run through tests/integration/test_sdk.py (TIMING_BASE_URL and the admin login are needed)');
}

export { WebSocket };

/** A TimingApi logged in as the stack's admin. */
export async function adminApi() {
  const api = new TimingApi({ baseUrl: BASE });
  await api.login(ADMIN_EMAIL, ADMIN_PASSWORD);
  return api;
}

let menuCache = null;
/** Places an order as a walk-in customer (no token); returns the answer. */
export async function placeOrder(name = 'ลูกค้า SDK', extra = {}) {
  const api = new TimingApi({ baseUrl: BASE });
  menuCache ??= (await api.getMenu()).items.filter((m) => m.available);
  const item = menuCache[0];
  return api.createOrder({
    customer_info: { name, phone: '0812345678' },
    items: [{ menu_id: item.id, quantity: 1 }],
    ...extra,
  });
}

/** The WebSocket class the SDK is given, recording every URL and
 *  subprotocol list it opened (and the socket, for a test to cut). */
export function recordingWebSocket(extraOptions = {}) {
  const opened = [];
  class Recording extends WebSocket {
    constructor(url, protocols) {
      super(url, protocols, extraOptions);
      opened.push({ url: String(url), protocols: [...(protocols ?? [])], socket: this });
    }
  }
  return { WS: Recording, opened };
}

/** Resolves once `check()` is truthy (polled); rejects after `ms` naming
 *  what it waited for -- only a hang takes that long. */
export async function waitFor(check, what, ms = 20000) {
  const end = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Everything a TimingLive emits, in order. */
export function record(live) {
  const log = { states: [], newOrder: [], update: [], order: [], resync: [],
    disconnect: [], auth: [], error: [], connection: [] };
  live.on('state', (s) => log.states.push(s));
  live.on('connection', (m) => log.connection.push(m));
  live.on('newOrder', (order, msg) => log.newOrder.push({ order, msg }));
  live.on('orderStatusUpdate', (order, status, msg) => log.update.push({ order, status, msg }));
  live.on('order', (o) => log.order.push(o));
  live.on('resync', (i) => log.resync.push(i));
  live.on('disconnect', (m) => log.disconnect.push(m));
  live.on('auth', (e) => log.auth.push(e));
  live.on('error', (e) => log.error.push(e));
  log.eventIds = () => [...log.newOrder.map((e) => e.msg.event_id),
    ...log.update.map((e) => e.msg.event_id)];
  return log;
}

/** Every event id in the log after `after`, paging to the end. */
export async function logIdsAfter(api, after) {
  const ids = [];
  for (let cursor = after; ;) {
    const page = await api.events({ after: cursor, limit: 1000 });
    ids.push(...page.items.map((e) => e.event_id));
    if (page.next_cursor === null) return ids;
    cursor = page.next_cursor;
  }
}

/** The newest event id in the log (0 when it is empty). */
export async function logEnd(api) {
  const ids = await logIdsAfter(api, 0);
  return ids.length ? ids[ids.length - 1] : 0;
}

/** Asks the harness to act on the stack (control.mjs), a moment after
 *  anything else this process wrote: node_bridge.py reads its stdout with
 *  select() and a buffered readline, so a request that reaches it in the
 *  same read as an earlier line waits unseen until the run times out. */
export async function harness(command) {
  await new Promise((r) => setTimeout(r, 250));
  return control(command);
}

let stdinReleased = false;
/** control() leaves stdin open under its readline, which keeps the process
 *  alive after the last test: call once in a file that uses harness(). */
export function releaseStdinAfterTests(after) {
  if (stdinReleased) return;
  stdinReleased = true;
  after(() => process.stdin.unref());
}
