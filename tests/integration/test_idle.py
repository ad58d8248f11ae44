# SPDX-License-Identifier: Apache-2.0
"""mod_proxy_wstunnel has no idle timeout of its own: the daemon's
heartbeat is what ends a dead tunnel.  A client that stops answering
pings is closed after --pong-timeout, and Apache gives its worker back
(the request reaches the access log only when the tunnel ends); a client
that answers stays."""

import asyncio
import base64
import os
import socket
import time

import pytest

from client import (admin_login as token, auth, request, run, ws_next,
                    ws_open)
from conftest import running_stack

PONG_TIMEOUT_S = 3


@pytest.fixture(scope="module")
def quick_heartbeat(tmp_root):
    with running_stack(tmp_root, "idle",
                       eventd_args=["--ping-interval", "1", "--pong-timeout",
                                    str(PONG_TIMEOUT_S)]) as s:
        yield s


def access_log_lines(stack, path):
    with open(os.path.join(stack.server_root, "logs", "access.log")) as f:
        return [line for line in f if '"GET %s ' % path in line]


def test_a_silent_client_is_closed_and_its_worker_given_back(quick_heartbeat):
    stack = quick_heartbeat
    path = "/admin?silent=%d" % os.getpid()
    before = len(access_log_lines(stack, "/admin"))
    key = base64.b64encode(os.urandom(16)).decode()
    s = socket.create_connection(("127.0.0.1", stack.port), timeout=30)
    s.sendall(("GET %s HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
               "Sec-WebSocket-Version: 13\r\n"
               "Sec-WebSocket-Protocol: timing.v1, bearer.%s\r\n\r\n"
               % (path, key, token(stack))).encode())
    opened = time.monotonic()
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(4096)
    assert head.startswith(b"HTTP/1.1 101"), head
    # Never answer: read pings until the server closes the connection.
    while s.recv(4096):
        pass
    closed_after = time.monotonic() - opened
    s.close()
    assert PONG_TIMEOUT_S - 0.5 <= closed_after <= PONG_TIMEOUT_S + 10
    # The tunnel's request is logged once its worker has finished with it.
    deadline = time.monotonic() + 10
    while len(access_log_lines(stack, "/admin")) == before:
        assert time.monotonic() < deadline, "the worker never finished"
        time.sleep(0.1)
    stats = request(stack, "GET", "/api/admin/websocket/stats",
                    headers=auth(token(stack))).json["data"]
    assert stats["connections"]["total"] == 0


def test_a_client_that_answers_pings_stays(quick_heartbeat):
    stack = quick_heartbeat

    async def scenario():
        ws = await ws_open(stack, "/admin", subprotocols=[
            "timing.v1", "bearer." + token(stack)])
        await ws_next(ws)
        await asyncio.sleep(PONG_TIMEOUT_S * 2)
        await ws.send('{"type":"ping"}')
        answer = await ws_next(ws)
        await ws.close()
        return answer

    assert run(scenario()) == {"type": "pong"}
