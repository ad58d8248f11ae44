# SPDX-License-Identifier: Apache-2.0
"""A socket older than TimingSocketLifetime is asked to reconnect
(`disconnect` reason `reconnect`, close code 1012), like an old Apache
generation's, and a client that resumes with its last_event_id misses
nothing that happened meanwhile."""

import json
import time

import pytest

from client import (admin_login as login, auth, place_order, request, run,
                    until_closed, ws_next, ws_open)
from conftest import HANDOFF_SETTING, running_stack

LIFETIME_S = 3


@pytest.fixture(scope="module")
def short_lived(tmp_root, ws_path):
    """On each WebSocket path: the lifetime holds for handed-off sockets
    as for tunnelled ones."""
    with running_stack(tmp_root, "lifetime-" + ws_path, defines={
            "TIMING_SOCKET_LIFETIME": "%ds" % LIFETIME_S,
            "TIMING_WEBSOCKET_HANDOFF": HANDOFF_SETTING[ws_path],
            "TIMING_ORDER_RATE_LIMIT": "0"}) as s:
        yield s


def test_an_old_socket_is_recycled_and_resumes_without_loss(short_lived):
    token = login(short_lived)
    auth = ["timing.v1", "bearer." + token]

    async def scenario():
        ws = await ws_open(short_lived, "/admin", subprotocols=auth)
        hello = await ws_next(ws)
        opened = time.monotonic()
        ids = [place_order(short_lived, "ก่อน %d" % i)["id"] for i in range(3)]
        got, code = await until_closed(ws, LIFETIME_S + 10)
        lived = time.monotonic() - opened
        events = [m for m in map(json.loads, got)
                  if m["type"] == "newOrder"]
        last = events[-1]["event_id"]
        # While the client is away, more orders.
        ids += [place_order(short_lived, "ระหว่าง %d" % i)["id"] for i in range(3)]
        again = await ws_open(short_lived, "/admin?last_event_id=%d&epoch=%s"
                              % (last, hello["epoch"]), subprotocols=auth)
        second = await ws_next(again)
        replayed = [await ws_next(again) for _ in range(3)]
        await again.close()
        return hello, got, code, lived, events, second, replayed, ids

    hello, got, code, lived, events, second, replayed, ids = run(scenario())
    assert code == 1012
    assert got[-1] == '{"type":"disconnect","reason":"reconnect"}'
    # Jittered down by at most a fifth, and the heartbeat looks once a
    # second: between 0.8 and about 1 lifetime (generous for slow hosts).
    assert LIFETIME_S * 0.8 - 0.5 <= lived <= LIFETIME_S + 5, lived
    assert [e["order"]["id"] for e in events] == ids[:3]
    assert second["type"] == "connection"
    assert [m["order"]["id"] for m in replayed] == ids[3:]
    assert all(m["type"] == "newOrder" for m in replayed)


def test_lifetime_counts_in_the_stats(short_lived):
    token = login(short_lived)
    stats = request(short_lived, "GET", "/api/admin/websocket/stats",
                    headers=auth(token)).json["data"]
    assert stats["aged"] >= 1
