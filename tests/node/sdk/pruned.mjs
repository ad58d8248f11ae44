// SPDX-License-Identifier: Apache-2.0
// TimingLive when its resume point is older than the event log keeps
// (timing-maintain pruned it): the catch-up's 410 events_pruned becomes one
// resync with caughtUp false -- the app reloads -- not an error retried for
// ever, and the channel goes on from the log's end.  Run by
// tests/integration/test_retention.py after it pruned, with the daemon just
// restarted (nothing to replay from) and TIMING_EPOCH set.
import test, { after } from 'node:test';
import assert from 'node:assert/strict';
import { TimingApi, TimingLive } from '../../../web/sdk/timing.js';
import { BASE, ADMIN_EMAIL, ADMIN_PASSWORD, WebSocket, placeOrder, waitFor, record,
  releaseStdinAfterTests } from './lib.mjs';

releaseStdinAfterTests(after);

test('a resume point before the pruned events: one reload, then live', async () => {
  let eventReads = 0;
  const counting = (url, init) => {
    if (String(url).includes('/api/admin/events')) eventReads++;
    return fetch(url, init);
  };
  const api = new TimingApi({ baseUrl: BASE, fetch: counting });
  await api.login(ADMIN_EMAIL, ADMIN_PASSWORD);
  const live = new TimingLive({ baseUrl: BASE, channel: 'admin', WebSocket, api,
    token: () => api.token(), lastEventId: 1, epoch: process.env.TIMING_EPOCH,
    backoff: { initial: 100, max: 400 }, settleDelay: 200 });
  const log = record(live);
  live.start();
  try {
    await waitFor(() => log.resync.length > 0, 'resync');
    assert.equal(log.resync[0].caughtUp, false, JSON.stringify(log.resync));
    assert.deepEqual(log.error, [], 'events_pruned is not an error');
    const order = await placeOrder('หลังลบ');
    await waitFor(() => log.newOrder.some((e) => e.order.id === order.id), 'the next order');
    // The one search for the log's end (one-event reads) may still be
    // running on a slow build: wait until the reads pause, then count.
    // A client that read on and on never pauses, and fails below.
    for (let i = 0, seen = -1; i < 40 && eventReads !== seen; i++) {
      seen = eventReads;
      await new Promise((r) => setTimeout(r, 400));
    }
    const reads = eventReads;
    await new Promise((r) => setTimeout(r, 1500));
    assert.ok(eventReads - reads < 5, `the log read on and on: ${eventReads - reads} more reads`);
    assert.equal(log.resync.filter((r) => !r.caughtUp).length, 1, JSON.stringify(log.resync));
    assert.deepEqual(log.error, []);
    assert.ok(live.lastEventId > Number(process.env.TIMING_PRUNED_THROUGH), String(live.lastEventId));
  } finally {
    live.stop();
  }
});
