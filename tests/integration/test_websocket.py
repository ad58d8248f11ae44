# SPDX-License-Identifier: Apache-2.0
"""The WebSocket path through Apache: /admin is proxied to timing-eventd,
whose first message is `connection`, and only mod_timing's X-Timing-*
headers reach the daemon."""

import re

from client import request, run, ws_next, ws_open


def test_admin_socket_gets_connection_first(stack, admin_token):
    epoch = stack.mariadb("SELECT epoch FROM timing_epoch")[0][0]

    async def scenario():
        ws = await ws_open(stack, "/admin?token=" + admin_token)
        try:
            msg = await ws_next(ws)
            await ws.send('{"type":"ping"}')
            pong = await ws_next(ws)
            return msg, pong
        finally:
            await ws.close()

    msg, pong = run(scenario())
    assert msg["type"] == "connection"
    assert msg["epoch"] == epoch
    assert isinstance(msg["client_id"], str) and msg["client_id"]
    assert isinstance(msg["last_event_id"], int)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z",
                        msg["server_time"])
    assert pong == {"type": "pong"}


def test_client_sent_timing_headers_are_replaced(stack, admin_token):
    """A client cannot choose its channel or epoch by sending the
    daemon's headers itself."""
    epoch = stack.mariadb("SELECT epoch FROM timing_epoch")[0][0]

    async def scenario():
        ws = await ws_open(stack, "/admin?token=" + admin_token, headers={
            "X-Timing-Channel": "order", "X-Timing-Epoch": "forged",
            "X-Timing-Role": "admin", "x-timing-user": "1"})
        try:
            return await ws_next(ws)
        finally:
            await ws.close()

    msg = run(scenario())
    assert msg["type"] == "connection"
    assert msg["epoch"] == epoch


def test_subprotocol_is_answered(stack, admin_token):
    async def scenario():
        ws = await ws_open(stack, "/admin",
                           subprotocols=["timing.v1", "bearer." + admin_token])
        try:
            first = await ws_next(ws)
            return ws.subprotocol, first
        finally:
            await ws.close()

    proto, first = run(scenario())
    assert proto == "timing.v1"
    assert first["type"] == "connection"


def test_plain_get_on_socket_path_is_refused(stack, admin_token):
    assert request(stack, "GET", "/admin").status == 401
    ans = request(stack, "GET", "/admin?token=" + admin_token)
    assert 400 <= ans.status < 500, ans


def test_open_sockets_hold_no_database_connection(stack, admin_token):
    """More open sockets than mod_dbd's pool has connections (DBDMax 32 per
    process): an upgrade's request lasts as long as its socket, so it must
    give its connection back at once.  REST keeps answering meanwhile."""
    async def scenario():
        sockets = []
        try:
            for _ in range(100):
                sockets.append(await ws_open(stack,
                                             "/admin?token=" + admin_token))
            for ws in sockets:
                assert (await ws_next(ws))["type"] == "connection"
            return request(stack, "GET", "/api/menu").status
        finally:
            for ws in sockets:
                await ws.close()

    assert run(scenario()) == 200
    assert request(stack, "GET", "/api/health").status == 200
