# SPDX-License-Identifier: Apache-2.0
"""Three graceful reloads of Apache in a row with staff and customer
sockets open and orders flowing, on both WebSocket paths.  Every client
ends with every event it may see exactly once (or a `resync`, then the
REST catch-up); no request is answered 5xx; no old-generation Apache
process is left.

- Tunnelled (TimingWebSocketHandoff off): a tunnel lives in an Apache
  process, so every client is told `reconnect` (1012), comes back through
  the new generation within the recycling window and resumes with
  last_event_id and epoch.
- Handed off: the daemon holds the client's own socket, so no client is
  closed at all.

The figures go to build/results/reload-<path>.txt (and the output)."""

import asyncio
import json
import os
import random
import threading
import time

import pytest
import websockets

from client import admin_login, place_order, post_order, put_status
from conftest import CHECKOUT, HANDOFF_SETTING, running_stack

ADMINS = 10
CUSTOMERS = 10
RELOADS = 3
SPREAD_MS = 3000
FIGURES = os.path.join(CHECKOUT, "build", "results", "reload-%s.txt")


@pytest.fixture(scope="module")
def reload_stack(tmp_root, ws_path):
    with running_stack(tmp_root, "reload-" + ws_path,
                       defines={"TIMING_ORDER_RATE_LIMIT": "0",
                                "TIMING_WEBSOCKET_HANDOFF":
                                HANDOFF_SETTING[ws_path]},
                       eventd_args=["--recycle-spread-ms",
                                    str(SPREAD_MS)]) as s:
        yield s


class Client:
    """One socket that reconnects like the SDK: at once after `reconnect`,
    resuming from the event it received last, in the same epoch."""

    def __init__(self, stack, path, subprotocols, order_id=None):
        self.stack, self.path, self.subprotocols = stack, path, subprotocols
        self.order_id = order_id
        self.seen = []              # event ids, in arrival order
        self.last = None
        self.epoch = None
        self.connections = 0
        self.closes = []            # (code, reason of `disconnect`)
        self.gaps = []              # seconds from close to the next hello
        self.resyncs = 0
        self.connected = asyncio.Event()
        self.is_open = False
        self.stopping = False

    def url(self):
        resume = ""
        if self.last is not None:
            resume = "?last_event_id=%d&epoch=%s" % (self.last, self.epoch)
        return "ws://127.0.0.1:%d%s%s" % (self.stack.port, self.path, resume)

    async def run(self):
        closed_at = None
        while not self.stopping:
            try:
                ws = await websockets.connect(
                    self.url(), subprotocols=self.subprotocols,
                    open_timeout=15, close_timeout=5, ping_interval=None)
            except (OSError, websockets.InvalidStatusCode,
                    asyncio.TimeoutError):
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
                        if closed_at is not None:
                            self.gaps.append(time.monotonic() - closed_at)
                        if self.last is None:
                            self.last = msg["last_event_id"]
                        self.epoch = msg["epoch"]
                        self.connected.set()
                    elif kind in ("newOrder", "orderStatusUpdate"):
                        self.seen.append(msg["event_id"])
                        # The daemon replays in arrival order after the
                        # event last received, which concurrent writers
                        # may leave below the highest id seen.
                        self.last = msg["event_id"]
                    elif kind == "resync":
                        self.resyncs += 1
                        await asyncio.to_thread(self.catch_up)
                    elif kind == "disconnect":
                        reason = msg["reason"]
                    if self.stopping:
                        break
            except websockets.ConnectionClosed:
                pass
            closed_at = time.monotonic()
            self.is_open = False
            if not self.stopping:       # the server's doing, not ours
                self.closes.append((ws.close_code, reason))
            await ws.close()
            if reason != "reconnect":
                await asyncio.sleep(0.2)

    def catch_up(self):
        """After a resync: the events after the last seen one, over REST
        (what the SDK does)."""
        rows = self.stack.mariadb(
            "SELECT id FROM events WHERE id > %d AND type <> 'revoke'%s"
            " ORDER BY id"
            % (self.last, "" if self.order_id is None
               else " AND order_id = %d" % self.order_id))
        for (event_id,) in rows:
            self.seen.append(int(event_id))
            self.last = max(self.last, int(event_id))


def test_three_graceful_reloads_lose_nothing(reload_stack, ws_path):
    stack = reload_stack
    token = admin_login(stack)
    tracked = [place_order(stack, "ลูกค้า %d" % i) for i in range(CUSTOMERS)]
    statuses = []               # every REST status the load got
    stop_load = threading.Event()

    def load():
        cycle = ["preparing", "ready", "pending"]
        i = 0
        while not stop_load.is_set():
            ans = post_order(stack, "โหลด %d" % i,
                             items=[{"menu_id": 2, "quantity": 1}])
            statuses.append(ans.status)
            order = tracked[i % CUSTOMERS]
            ans = put_status(stack, token, order["id"],
                             cycle[(i // CUSTOMERS) % 3])
            statuses.append(ans.status)
            i += 1
            time.sleep(0.02)

    async def scenario():
        admins = [Client(stack, "/admin", ["timing.v1", "bearer." + token])
                  for _ in range(ADMINS)]
        customers = [Client(stack, "/orders/%d" % o["id"],
                            ["timing.v1", "tracking." + o["tracking_token"]],
                            order_id=o["id"]) for o in tracked]
        clients = admins + customers
        tasks = [asyncio.create_task(c.run()) for c in clients]
        await asyncio.wait_for(
            asyncio.gather(*(c.connected.wait() for c in clients)), 30)
        start = {id(c): c.last for c in clients}
        old = stack.apache_children()
        loader = threading.Thread(target=load)
        loader.start()
        await asyncio.sleep(1)
        for _ in range(RELOADS):
            old |= stack.apache_children()
            await asyncio.to_thread(stack.apache_graceful)
            await asyncio.sleep(1)
        reloaded_at = time.monotonic()
        # The window, then until no process of an old generation is left.
        gone_after = None
        while time.monotonic() - reloaded_at < SPREAD_MS / 1000 + 30:
            if not (old & stack.apache_children()):
                gone_after = time.monotonic() - reloaded_at
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(1)
        open_at_end = [c for c in clients if c.is_open]
        stop_load.set()
        await asyncio.to_thread(loader.join)
        # Past the event horizon, so every committed event has been sent.
        await asyncio.sleep(3)
        for c in clients:
            c.stopping = True
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return admins, customers, start, old, gone_after, open_at_end

    admins, customers, start, old, gone_after, open_at_end = \
        asyncio.run(scenario())

    missed = duplicated = events = 0
    problems = []
    for c in admins + customers:
        where = "" if c.order_id is None else " AND order_id = %d" % c.order_id
        expected = [int(r[0]) for r in stack.mariadb(
            "SELECT id FROM events WHERE id > %d AND type <> 'revoke'%s"
            " ORDER BY id"
            % (start[id(c)], where))]
        events += len(expected)
        lost = sorted(set(expected) - set(c.seen))
        twice = len(c.seen) - len(set(c.seen))
        missed += len(lost)
        duplicated += twice
        if lost or twice or set(c.seen) - set(expected):
            problems.append("%s: lost %s, %d twice, %d foreign" % (
                c.path, lost[:10], twice, len(set(c.seen) - set(expected))))
        # Reloads inside one window: a run toward the newest generation
        # takes every older socket, so a client is moved at least once.
        if ws_path == "tunnel" and not any(
                code == 1012 and reason == "reconnect"
                for code, reason in c.closes):
            problems.append("%s was never told to reconnect: %s"
                            % (c.path, c.closes))
        # A handed-off socket is the daemon's: no reload touches it.
        if ws_path == "handoff" and (c.closes or c.connections != 1):
            problems.append("%s was closed by a reload: %s, %d connections"
                            % (c.path, c.closes, c.connections))
        if c not in open_at_end:
            problems.append("%s was not connected at the end" % c.path)
    gaps = [g for c in admins + customers for g in c.gaps]
    five_xx = [s for s in statuses if s >= 500]
    figures = ("%s: clients %d (admin %d, customer %d), reloads %d, events "
               "delivered %d, missed %d, duplicated %d, resyncs %d, REST "
               "requests %d (5xx %d), reconnect gap max %.3f s, old "
               "processes gone %s s after the last reload (window %.1f s)"
               % (ws_path, ADMINS + CUSTOMERS, ADMINS, CUSTOMERS,
                  RELOADS, events, missed, duplicated,
                  sum(c.resyncs for c in admins + customers), len(statuses),
                  len(five_xx), max(gaps) if gaps else 0,
                  "%.1f" % gone_after if gone_after is not None else "never",
                  SPREAD_MS / 1000))
    print(figures)
    os.makedirs(os.path.dirname(FIGURES), exist_ok=True)
    with open(FIGURES % ws_path, "w") as f:
        f.write(figures + "\n")

    assert not problems, "\n".join(problems)
    assert missed == 0 and duplicated == 0
    assert not five_xx, figures
    assert statuses and all(s in (200, 201) for s in statuses), \
        sorted(set(statuses))
    assert gone_after is not None, "old Apache processes %s still running" \
        % sorted(old & stack.apache_children())
    assert not gaps or max(gaps) < SPREAD_MS / 1000 + 5, figures
