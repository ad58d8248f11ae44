# SPDX-License-Identifier: Apache-2.0
"""What the fault drills share: a private stack per drill, a load of order
creations and status changes from many loopback addresses, WebSocket
clients that reconnect and resume like the SDK, and the accounting that
says whether anything acknowledged or announced was lost."""

import asyncio
import http.client
import json
import os
import random
import threading
import time
import uuid

import websockets

from client import admin_login, auth, place_order, random_loopback, request
from integration_conftest import (CHECKOUT, HANDOFF_SETTING, crash_reports,
                                  make_stack, sanitizer_reports)

FIGURES = os.path.join(CHECKOUT, "build", "results", "drills.txt")
RELEASE_EVENTD = os.path.join(CHECKOUT, "build", "timing-eventd")
HORIZON = 2.0           # --gap-horizon-ms / TimingEventHorizon, seconds
SETTLE = HORIZON + 0.5  # a second read of the log after each catch-up


# -- stacks ------------------------------------------------------------------

def open_stack(tmp_root, name, ws_path, release=False, defines=None, **kw):
    """A stack with the order limit lifted, whose WebSockets take ws_path
    ("handoff" or "tunnel"); release=True runs the daemon's optimised
    build (memory figures without AddressSanitizer's quarantine)."""
    d = {"TIMING_ORDER_RATE_LIMIT": "0",
         "TIMING_WEBSOCKET_HANDOFF": HANDOFF_SETTING[ws_path]}
    d.update(defines or {})
    s = make_stack(os.path.join(tmp_root, "%s-%s" % (name, ws_path)),
                   defines=d, **kw)
    if release:
        s.eventd_bin = RELEASE_EVENTD
    s.start()
    return s


def close_stack(s):
    s.stop()
    problems = (sanitizer_reports(s.log_path("eventd"))
                + crash_reports(s.log_path("apache")))
    assert not problems, "\n".join(problems)


def write_figures(drill, text):
    print("\n%s: %s" % (drill, text))
    with open(FIGURES, "a") as f:
        f.write("%s: %s\n" % (drill, text))


# -- processes ---------------------------------------------------------------

def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def apache_pids(stack):
    """Apache's parent and its live children."""
    return [stack.procs["apache"].pid] + sorted(stack.apache_children())


def apache_figures(stack):
    """(processes, total RSS in KiB, open descriptors) of Apache."""
    rss = fds = n = 0
    for pid in apache_pids(stack):
        try:
            rss += rss_kb(pid)
            fds += fd_count(pid)
            n += 1
        except OSError:
            pass            # a child that exited meanwhile
    return n, rss, fds


# -- the load ----------------------------------------------------------------

class Record:
    """One REST request of the load and its answer (status None: no answer,
    the connection failed)."""

    def __init__(self, kind, started, ended, status, **info):
        self.kind, self.started, self.ended = kind, started, ended
        self.status = status
        self.info = info

    @property
    def seconds(self):
        return self.ended - self.started


class Load:
    """Threads that each, in a loop, place an order (a unique customer
    name, an Idempotency-Key, one to three lines) and move an order to
    another status; every request from a random 127.x address."""

    def __init__(self, stack, token, targets, threads=4, pause=0.01):
        self.stack, self.token = stack, token
        self.targets = list(targets)    # order ids the changes go to
        self.threads, self.pause = threads, pause
        self.records = []
        self.created = []               # ids answered 201
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.workers = []
        menu = request(stack, "GET", "/api/menu").json["data"]
        self.menu = [m["id"] for m in menu if m["available"]]

    def start(self):
        for _ in range(self.threads):
            t = threading.Thread(target=self._loop, daemon=True)
            t.start()
            self.workers.append(t)

    def stop(self):
        self.stopping.set()
        for t in self.workers:
            t.join(60)

    def _send(self, kind, method, path, body, headers=None, source=None,
              **info):
        started = time.monotonic()
        try:
            ans = request(self.stack, method, path, body=body,
                          headers=headers, source=source)
            status, data = ans.status, ans.body
        except (OSError, http.client.HTTPException) as e:
            status, data = None, repr(e).encode()
        rec = Record(kind, started, time.monotonic(), status, body=data,
                     source=source, **info)
        with self.lock:
            self.records.append(rec)
        return rec

    def create(self):
        name = "drill %s" % uuid.uuid4().hex[:16]
        key = "drill-" + uuid.uuid4().hex
        items = [{"menu_id": random.choice(self.menu),
                  "quantity": random.randint(1, 3)}
                 for _ in range(random.randint(1, 3))]
        # An anonymous caller's keys are its address's: a retry comes from
        # the same one.
        source = random_loopback()
        rec = self._send("create", "POST", "/api/orders",
                         {"customer_info": {"name": name}, "items": items},
                         {"Idempotency-Key": key}, source=source, name=name,
                         key=key, items=items)
        if rec.status == 201:
            rec.info["id"] = json.loads(rec.info["body"])["data"]["id"]
            with self.lock:
                self.created.append(rec.info["id"])

    def change(self):
        with self.lock:
            pool = self.created[-50:]
        if pool and random.random() < 0.5:
            order = random.choice(pool)
        else:
            order = random.choice(self.targets)
        status = random.choice(["pending", "preparing", "ready"])
        self._send("status", "PUT", "/api/admin/orders/%d/status" % order,
                   {"status": status},
                   auth(self.token), order=order)

    def _loop(self):
        while not self.stopping.is_set():
            self.create()
            self.change()
            time.sleep(self.pause)

    # -- figures ---------------------------------------------------------

    def statuses(self, within=None):
        """{status: count}, of the requests started inside (t0, t1)."""
        out = {}
        for r in self.records:
            if within and not within[0] <= r.started <= within[1]:
                continue
            out[r.status] = out.get(r.status, 0) + 1
        return out

    def slowest(self, within=None):
        times = [r.seconds for r in self.records
                 if not within or within[0] <= r.started <= within[1]]
        return max(times) if times else 0.0


def check_orders(stack, load):
    """Every order answered 201 is in the database with its name and lines;
    no order whose creation was refused (or got no answer) is.  Returns
    (acknowledged, problems)."""
    acked = [r for r in load.records if r.kind == "create" and r.status == 201]
    refused = [r for r in load.records
               if r.kind == "create" and r.status != 201]
    problems = []
    stored = {}
    ids = [r.info["id"] for r in acked]
    for chunk in range(0, len(ids), 500):
        part = ids[chunk:chunk + 500]
        for oid, name in stack.mariadb(
                "SELECT id, customer_name FROM orders WHERE id IN (%s)"
                % ",".join(map(str, part))):
            stored[int(oid)] = {"name": name, "lines": []}
        for oid, menu_id, qty in stack.mariadb(
                "SELECT order_id, menu_id, quantity FROM order_items WHERE "
                "order_id IN (%s) ORDER BY order_id, line_no"
                % ",".join(map(str, part))):
            stored[int(oid)]["lines"].append((int(menu_id), int(qty)))
    for r in acked:
        row = stored.get(r.info["id"])
        want = [(i["menu_id"], i["quantity"]) for i in r.info["items"]]
        if row is None:
            problems.append("order %d (answered 201) is not in the database"
                            % r.info["id"])
        elif row["name"] != r.info["name"] or row["lines"] != want:
            problems.append("order %d differs: %s, not %s %s" % (
                r.info["id"], row, r.info["name"], want))
    # Refused creations: looked up by their unique customer names.
    names = [r.info["name"] for r in refused]
    for chunk in range(0, len(names), 500):
        part = names[chunk:chunk + 500]
        found = stack.mariadb(
            "SELECT customer_name FROM orders WHERE customer_name IN (%s)"
            % ",".join("'%s'" % n for n in part))
        for (name,) in found:
            r = next(x for x in refused if x.info["name"] == name)
            if not settled_by_its_key(stack, r):
                problems.append("order %r was answered %s but is in the "
                                "database, and its Idempotency-Key does not "
                                "give it back" % (name, r.status))
    return len(acked), problems


def settled_by_its_key(stack, rec):
    """A 503 whose COMMIT reached the database before it went down (the
    answer to the COMMIT was lost with the connection): the outcome was
    unknown to Timing, not lost.  The client's retry with the same
    Idempotency-Key must then answer 201 with that very order, once."""
    if rec.status != 503:
        return False
    body = {"customer_info": {"name": rec.info["name"]},
            "items": rec.info["items"]}
    again = request(stack, "POST", "/api/orders", body=body,
                    headers={"Idempotency-Key": rec.info["key"]},
                    source=rec.info["source"])
    if again.status != 201:
        return False
    rows = stack.mariadb("SELECT id FROM orders WHERE customer_name = '%s'"
                         % rec.info["name"])
    return (len(rows) == 1
            and int(rows[0][0]) == again.json["data"]["id"])


# -- WebSocket clients -------------------------------------------------------

class Client:
    """One socket that behaves like the SDK: reconnects (at once after
    `reconnect`, with a short pause otherwise), resumes with last_event_id
    and epoch, and on `resync` catches up over REST: staff read the event
    log after the newest event they know (and once more after the event
    horizon), a customer refetches its order's status."""

    def __init__(self, stack, token, path, subprotocols, order_id=None,
                 tracking=None):
        self.stack, self.token = stack, token
        self.path, self.subprotocols = path, subprotocols
        self.order_id, self.tracking = order_id, tracking
        self.seen = []              # event ids received on the socket
        self.caught = set()         # event ids read from the log (staff)
        self.refetched = 0          # highest version refetched (customer)
        self.start = None           # last_event_id of the first connection
        # Two points, as in the SDK: where the stream resumes (the last
        # event received, in arrival order, which is not id order), and
        # where a read of the log starts (every id up to it is known).
        self.resume = None
        self.streamed = False
        self.conn_last = None
        self.cursor = None
        self.epoch = None
        self.connections = 0
        self.failed_connects = 0
        self.resyncs = 0
        self.closes = []
        self.connected = asyncio.Event()
        self.is_open = False
        self.stopping = False
        self.settles = set()

    def url(self):
        resume = ""
        if self.resume is not None:
            resume = "?last_event_id=%d&epoch=%s" % (self.resume, self.epoch)
        return "ws://127.0.0.1:%d%s%s" % (self.stack.port, self.path, resume)

    async def run(self):
        while not self.stopping:
            try:
                ws = await websockets.connect(
                    self.url(), subprotocols=self.subprotocols,
                    open_timeout=15, close_timeout=5, ping_interval=None,
                    max_size=None)
            except (OSError, asyncio.TimeoutError,
                    websockets.WebSocketException):
                self.failed_connects += 1
                await asyncio.sleep(0.2 + random.random() * 0.3)
                continue
            reason = None
            try:
                async for raw in ws:
                    msg = json.loads(raw)
                    kind = msg["type"]
                    if kind == "connection":
                        self.connections += 1
                        self.is_open = True
                        if self.start is None:
                            self.start = msg["last_event_id"]
                            self.resume = self.cursor = self.start
                        self.conn_last = msg["last_event_id"]
                        self.streamed = False
                        self.epoch = msg["epoch"]
                        self.connected.set()
                    elif kind in ("newOrder", "orderStatusUpdate"):
                        self.seen.append(msg["event_id"])
                        self.resume = msg["event_id"]
                        self.streamed = True
                    elif kind == "resync":
                        self.resyncs += 1
                        # Live from here; before any event, this socket
                        # started at its connection message's point.
                        if not self.streamed:
                            self.resume = self.conn_last
                        await self.catch_up()
                    elif kind == "disconnect":
                        reason = msg["reason"]
                    if self.stopping:
                        break
            except websockets.ConnectionClosed:
                pass
            self.is_open = False
            if not self.stopping:       # the server's doing, not ours
                self.closes.append((ws.close_code, reason))
            await ws.close()
            if reason != "reconnect" and not self.stopping:
                await asyncio.sleep(0.2 + random.random() * 0.3)

    async def catch_up(self, settled=False):
        if self.order_id is not None:
            version = await asyncio.to_thread(self._refetch)
            if version is not None:
                self.refetched = max(self.refetched, version)
            else:
                self._later(self.catch_up)
            return
        known = self.caught | set(self.seen)
        while self.cursor + 1 in known:
            self.cursor += 1
        rows = await asyncio.to_thread(self._read_log, self.cursor)
        if rows is None:
            self._later(self.catch_up)
            return
        self.caught.update(rows)
        # The log is monotonic: all up to its last answer is known.
        if rows:
            self.cursor = max(self.cursor, rows[-1])
        if not settled:
            self._later(lambda: self.catch_up(settled=True), SETTLE)

    def _later(self, coro_fn, delay=0.5):
        async def later():
            await asyncio.sleep(delay)
            if not self.stopping:
                await coro_fn()
        task = asyncio.ensure_future(later())
        self.settles.add(task)
        task.add_done_callback(self.settles.discard)

    def _read_log(self, after):
        """Event ids after `after` from /api/admin/events, or None when the
        API does not answer (the caller tries again)."""
        ids = []
        while True:
            try:
                ans = request(self.stack, "GET",
                              "/api/admin/events?after=%d&limit=1000" % after,
                              headers=auth(self.token))
            except (OSError, http.client.HTTPException):
                return None
            if ans.status != 200:
                return None
            page = ans.json
            ids += [e["event_id"] for e in page["data"]]
            if page["meta"]["next_cursor"] is None:
                return ids
            after = int(page["meta"]["next_cursor"])

    def _refetch(self):
        try:
            ans = request(self.stack, "GET", "/api/orders/%d/status"
                          "?tracking_token=%s" % (self.order_id,
                                                  self.tracking))
        except (OSError, http.client.HTTPException):
            return None
        return ans.json["data"]["version"] if ans.status == 200 else None


def make_clients(stack, token, tracked, admins):
    out = [Client(stack, token, "/admin", ["timing.v1", "bearer." + token])
           for _ in range(admins)]
    out += [Client(stack, token, "/orders/%d" % o["id"],
                   ["timing.v1", "tracking." + o["tracking_token"]],
                   order_id=o["id"], tracking=o["tracking_token"])
            for o in tracked]
    return out


async def start_clients(clients, timeout=30):
    tasks = [asyncio.ensure_future(c.run()) for c in clients]
    await asyncio.wait_for(
        asyncio.gather(*(c.connected.wait() for c in clients)), timeout)
    return tasks


async def stop_clients(clients, tasks):
    # Past the horizon and a settling read, so every committed event has
    # been sent or caught up.
    await asyncio.sleep(SETTLE + 1.5)
    for c in clients:
        c.stopping = True
    for t in tasks:
        t.cancel()
    for c in clients:
        for t in list(c.settles):
            t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def account(stack, clients):
    """Per client, every event it may see since its first connection:
    received on the socket exactly once, or caught up after a resync.
    Returns (events, delivered, lost, duplicated, problems): events counts
    each event once per client that may see it."""
    rows = stack.mariadb(
        "SELECT id, order_id, JSON_VALUE(message, '$.order.version') "
        "FROM events WHERE id > %d ORDER BY id"
        % min(c.start for c in clients))
    events = [(int(i), int(o), int(v)) for i, o, v in rows]
    total = delivered = lost = duplicated = 0
    problems = []
    for c in clients:
        mine = [(i, v) for i, o, v in events if i > c.start and
                (c.order_id is None or o == c.order_id)]
        expected = {i for i, _ in mine}
        seen = set(c.seen)
        twice = len(c.seen) - len(seen)
        foreign = seen - expected
        if c.order_id is None:
            missing = sorted(expected - seen - c.caught)
        else:
            missing = sorted(i for i, v in mine
                             if i not in seen and v > c.refetched)
        total += len(expected)
        delivered += len(seen & expected)
        lost += len(missing)
        duplicated += twice
        if missing or twice or foreign:
            problems.append("%s: lost %s, %d twice, foreign %s" % (
                c.path, missing[:10], twice, sorted(foreign)[:10]))
    return total, delivered, lost, duplicated, problems


def run_with_load(stack, fault, admins=3, customers=3, threads=4,
                  before=2.0, after=4.0):
    """Staff and customer sockets open, the load running, then
    `await fault()` (its figures are returned), then more load, then the
    clients settle and stop.  Returns (load, clients, fault's figures,
    seconds)."""
    token = admin_login(stack)
    tracked = [place_order(stack, "ลูกค้า drill %d" % i)
               for i in range(customers)]
    load = Load(stack, token, [o["id"] for o in tracked], threads)

    async def scenario():
        clients = make_clients(stack, token, tracked, admins)
        tasks = await start_clients(clients)
        memory = [apache_figures(stack)[1], rss_kb(stack.procs["eventd"].pid)]
        started = time.monotonic()
        load.start()
        await asyncio.sleep(before)
        figures = await fault()
        await asyncio.sleep(after)
        await asyncio.to_thread(load.stop)
        memory += [apache_figures(stack)[1],
                   rss_kb(stack.procs["eventd"].pid)]
        figures["open_at_end"] = sum(c.is_open for c in clients)
        # The sanitized daemon's RSS includes AddressSanitizer's quarantine.
        figures["memory"] = ("RSS before/after: Apache %d/%d KiB, "
                             "daemon%s %d/%d KiB" % (
                                 memory[0], memory[2],
                                 " (ASan)" if "/asan/" in stack.eventd_bin
                                 else "", memory[1], memory[3]))
        await stop_clients(clients, tasks)
        return clients, figures, time.monotonic() - started

    clients, figures, seconds = asyncio.run(scenario())
    return load, clients, figures, seconds


def summary(load, clients, acked, events, lost, duplicated, seconds):
    return ("requests %d %s, orders acknowledged %d, events due %d (to %d "
            "clients), lost %d, duplicated %d, resyncs %d, reconnects %d, "
            "duration %.1f s" % (
                len(load.records), fmt_statuses(load.statuses()), acked,
                events, len(clients), lost, duplicated,
                sum(c.resyncs for c in clients),
                sum(c.connections - 1 for c in clients), seconds))


def fmt_statuses(counts):
    return "{%s}" % ", ".join("%s: %d" % (k, v) for k, v in
                              sorted(counts.items(), key=lambda kv: str(kv[0])))
