// SPDX-License-Identifier: Apache-2.0
// fanout-client.mjs -- one worker of the fan-out bench's socket generator.
//
// bench/fanout.py starts several of these (node bench/fanout-client.mjs),
// each holding its share of the /admin sockets, and talks to each over
// stdin/stdout, one JSON object a line:
//
//   in   {"url", "count", "addresses": [...], "first", "concurrency",
//         "timeout_ms", "welcome",         open `count` sockets, socket i
//         "insecure"}                      from addresses[(first + i) % len]
//   out  {"type": "ready", ...}            handshake times, refusals
//   in   {"type": "orders", "orders": [[id, sent_ms], ...]}
//   out  {"type": "delivered", ...}        every socket has every order
//                                          (or nothing came for 2 s)
//   in   {"type": "report"}
//   out  {"type": "result", ...}           latencies, missing, duplicated
//
// Times are milliseconds of CLOCK_MONOTONIC, the clock Python's
// time.monotonic() reads: process.hrtime is libuv's uv_hrtime, the same
// clock, so the orchestrator's send times and these receive times compare
// directly on one machine.  A message is timestamped on arrival, before it
// is parsed.  The ws package comes from tests/node (`make deps`).
//
// A socket counts as held once its first message (Timing's `connection`)
// has come; with "welcome": false (nchan, which sends nothing before the
// first event) once it is open.  "insecure": true takes any certificate
// on wss:// (the TLS stack's self-signed one).
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import readline from 'node:readline';

const require = createRequire(new URL('../tests/node/package.json',
                                      import.meta.url));
const WebSocket = require('ws');

// performance.now() is uv_hrtime since an origin: one offset turns it into
// CLOCK_MONOTONIC milliseconds without a BigInt per message.
const OFFSET = Number(process.hrtime.bigint()) / 1e6 - performance.now();
const now = () => performance.now() + OFFSET;

function send(obj, then) {
  process.stdout.write(JSON.stringify(obj) + '\n', then);
}

function bump(table, key) {
  table[key] = (table[key] || 0) + 1;
}

const sockets = [];          // open sockets, index = position here
const handshake = [];        // ms from connect() to the 101 (open)
const welcome = [];          // ms from connect() to the first message
const refused = {};          // HTTP status of a refused upgrade -> count
const errors = {};           // error code before open -> count
const closedEarly = {};      // close code of a socket that was open -> count
const otherTypes = {};       // messages other than newOrder -> count
// Receipts of newOrder: socket index, order id, arrival time.
let rSock = [], rId = [], rAt = [];
let lastArrival = 0;
// Once the orders are known: order id -> column, and a socket x order
// count table to see completeness as messages arrive.
let column = null, counts = null, nOrders = 0, distinct = 0;

function onMessage(idx, data) {
  const at = now();
  lastArrival = at;
  let m;
  try {
    m = JSON.parse(data);
  } catch {
    bump(otherTypes, 'unparsable');
    return;
  }
  if (m.type !== 'newOrder' || !m.order) {
    bump(otherTypes, String(m.type));
    return;
  }
  const id = m.order.id;
  rSock.push(idx);
  rId.push(id);
  rAt.push(at);
  if (column) {
    const c = column.get(id);
    if (c !== undefined && counts[idx * nOrders + c]++ === 0) distinct++;
  }
}

function connectOne(cfg, n) {
  return new Promise((resolve) => {
    const start = now();
    const opts = {
      perMessageDeflate: false,
      skipUTF8Validation: true,
      handshakeTimeout: cfg.timeout_ms,
    };
    if (cfg.insecure) opts.rejectUnauthorized = false;
    // A source address given is bound even when it is the only one: the
    // orchestrator hands each run fresh addresses, so the ports an earlier
    // run left in TIME_WAIT on another address are no obstacle.
    if (cfg.addresses.length > 0) {
      opts.localAddress = cfg.addresses[(cfg.first + n) % cfg.addresses.length];
    }
    const ws = new WebSocket(cfg.url, opts);
    let opened = false, settled = false;
    const done = () => { if (!settled) { settled = true; resolve(); } };
    ws.on('unexpected-response', (req, res) => {
      bump(refused, String(res.statusCode));
      res.resume();
      req.destroy();
      done();
    });
    ws.on('error', (err) => {
      if (!opened) {
        bump(errors, err.code || err.message);
        done();
      }
    });
    ws.on('open', () => {
      opened = true;
      handshake.push(now() - start);
      const idx = sockets.length;
      sockets.push(ws);
      if (cfg.welcome === false) {
        ws.on('message', (data) => onMessage(idx, data));
        done();
        return;
      }
      ws.once('message', () => {
        welcome.push(now() - start);
        ws.on('message', (data) => onMessage(idx, data));
        done();
      });
    });
    ws.on('close', (code) => {
      if (opened) bump(closedEarly, String(code));
      done();
    });
  });
}

async function connectAll(cfg) {
  let next = 0;
  async function lane() {
    while (next < cfg.count) await connectOne(cfg, next++);
  }
  await Promise.all(Array.from(
      { length: Math.min(cfg.concurrency, cfg.count) }, lane));
}

function sorted(values) {
  return Float64Array.from(values).sort();
}

function round(values) {
  return Array.from(values, (v) => Math.round(v * 1000) / 1000);
}

let cfg = null;
let orders = null;
const lines = readline.createInterface({ input: process.stdin });
lines.on('line', async (line) => {
  const msg = JSON.parse(line);
  if (!cfg) {
    cfg = msg;
    const t0 = now();
    await connectAll(cfg);
    send({
      type: 'ready', pid: process.pid, wanted: cfg.count,
      connected: sockets.length, seconds: (now() - t0) / 1000,
      handshake: round(sorted(handshake)), welcome: round(sorted(welcome)),
      refused, errors, closed_early: closedEarly, other: otherTypes,
      rss_kib: Math.round(process.memoryUsage.rss() / 1024),
    });
  } else if (msg.type === 'orders') {
    orders = msg.orders;
    nOrders = orders.length;
    const col = new Map(orders.map((o, i) => [o[0], i]));
    counts = new Uint8Array(sockets.length * nOrders);
    for (let i = 0; i < rId.length; i++) {
      const c = col.get(rId[i]);
      if (c !== undefined && counts[rSock[i] * nOrders + c]++ === 0) {
        distinct++;
      }
    }
    column = col;
    const expected = sockets.length * nOrders;
    const began = now();
    // Done when every socket has every order; else when nothing came for
    // 2 s (at most 60 s), so late messages count as late, not missing.
    const timer = setInterval(() => {
      const t = now();
      if (distinct === expected || t - Math.max(lastArrival, began) > 2000
          || t - began > 60000) {
        clearInterval(timer);
        send({ type: 'delivered', complete: distinct === expected,
               last_arrival: lastArrival });
      }
    }, 20);
  } else if (msg.type === 'report') {
    const sent = new Map(orders.map((o) => [o[0], o[1]]));
    const lat = [];
    // Per order: its first and last receipt here, after its send.
    const first = new Map(), last = new Map();
    let unknown = 0;
    for (let i = 0; i < rId.length; i++) {
      const id = rId[i], s = sent.get(id);
      if (s === undefined) {
        unknown++;
        continue;
      }
      const l = rAt[i] - s;
      lat.push(l);
      if (!(first.get(id) <= l)) first.set(id, l);
      if (!(last.get(id) >= l)) last.set(id, l);
    }
    const spread = orders.filter((o) => first.has(o[0])).map((o) => [
      o[0], Math.round(first.get(o[0]) * 1000) / 1000,
      Math.round(last.get(o[0]) * 1000) / 1000]);
    let missing = 0, duplicated = 0;
    for (let i = 0; i < counts.length; i++) {
      if (counts[i] === 0) missing++;
      else duplicated += counts[i] - 1;
    }
    send({
      type: 'result', sockets: sockets.length, orders: nOrders,
      received: rId.length, unknown, missing, duplicated,
      latency: round(sorted(lat)), spread, closed_early: closedEarly,
      other: otherTypes,
      rss_kib: Math.round(process.memoryUsage.rss() / 1024),
    }, () => process.exit(0));
    for (const ws of sockets) ws.terminate();
    lines.close();
  }
});
