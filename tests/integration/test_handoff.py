# SPDX-License-Identifier: Apache-2.0
"""WebSockets without an Apache worker each: mod_timing hands an accepted
plaintext upgrade's TCP socket to timing-eventd (TimingWebSocketHandoff
auto, the default), and the daemon holds it.

- more sockets than MaxRequestWorkers all open, live, while REST answers;
- three graceful reloads close none of them and lose no event;
- a first frame sent in the same packet as the upgrade arrives;
- Apache's processes never shut the client's socket down (strace);
- Apache stopped for good: every handed-off client is told `disconnect`
  `shutdown`;
- the daemon down: 503 with Retry-After and the JSON envelope;
- the daemon too busy to take it in time: Apache's 503 alone, never a
  101 after it;
- TimingWebSocketHandoff off: the tunnel, as before.

The stack is small on purpose: MaxRequestWorkers 8."""

import asyncio
import base64
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import threading
import time

import pytest

from client import (admin_login, auth, place_order, post_order, put_status,
                    request, run, until_closed, ws_next, ws_open)
from conftest import running_stack

WORKERS = 8
SOCKETS = 3 * WORKERS


@pytest.fixture(scope="module")
def small(tmp_root):
    with running_stack(tmp_root, "handoff", defines={
            "TIMING_THREADS_PER_CHILD": "4",
            "TIMING_MAX_WORKERS": str(WORKERS),
            "TIMING_START_SERVERS": "2",
            "TIMING_SERVER_LIMIT": "8",
            "TIMING_MAX_SOCKETS": "200",
            # Handed-off sockets are not tunnels: one tunnel allowed, and
            # SOCKETS of them still open.
            "TIMING_TUNNEL_SOCKETS": "1",
            "TIMING_ORDER_RATE_LIMIT": "0"}) as s:
        yield s


@pytest.fixture(scope="module")
def token(small):
    return admin_login(small)


def stats(stack, token):
    ans = request(stack, "GET", "/api/admin/websocket/stats",
                  headers=auth(token))
    assert ans.status == 200, ans
    return ans.json["data"]


def admin_path(token):
    return "/admin?token=" + token


def test_more_sockets_than_workers_stay_live_and_rest_answers(small, token):
    before = stats(small, token)

    async def scenario():
        socks = []
        for _ in range(SOCKETS):
            ws = await ws_open(small, admin_path(token))
            hello = await ws_next(ws)
            assert hello["type"] == "connection"
            socks.append(ws)
        # Every worker would be taken three times over on the tunnel.
        t0 = time.monotonic()
        health = await asyncio.to_thread(request, small, "GET",
                                         "/api/health")
        rest_s = time.monotonic() - t0
        figures = await asyncio.to_thread(stats, small, token)
        metrics = await asyncio.to_thread(
            request, small, "GET", "/api/admin/metrics",
            headers=auth(token))
        await asyncio.to_thread(place_order, small)
        got = []
        for ws in socks:
            while True:
                msg = await ws_next(ws)
                if msg["type"] == "newOrder":
                    got.append(msg)
                    break
        for ws in socks:
            await ws.send('{"type":"ping"}')
        pongs = [await ws_next(ws) for ws in socks]
        for ws in socks:
            await ws.close()
        return health, rest_s, figures, metrics, got, pongs

    health, rest_s, figures, metrics, got, pongs = run(scenario())
    assert health.status == 200 and rest_s < 5
    assert figures["sockets"]["handoff"] >= SOCKETS, figures
    assert figures["handoffs"] >= before["handoffs"] + SOCKETS
    m = re.search(rb'^timing_eventd_sockets\{path="handoff"\} (\d+)$',
                  metrics.body, re.M)
    assert m and int(m.group(1)) >= SOCKETS, metrics
    assert len(got) == SOCKETS
    assert all(p == {"type": "pong"} for p in pongs)


def test_graceful_reloads_close_none_and_lose_nothing(small, token):
    orders = [place_order(small) for _ in range(4)]
    statuses = []
    stop = threading.Event()

    def load():
        i = 0
        cycle = ["preparing", "ready", "pending"]
        while not stop.is_set():
            ans = post_order(small, "reload %d" % i,
                             items=[{"menu_id": 1, "quantity": 1}])
            statuses.append(ans.status)
            o = orders[i % len(orders)]
            statuses.append(put_status(small, token, o["id"],
                                       cycle[(i // 4) % 3]).status)
            i += 1
            time.sleep(0.05)

    async def scenario():
        admins = [await ws_open(small, admin_path(token)) for _ in range(6)]
        customers = [await ws_open(small, "/orders/%d?tracking_token=%s"
                                   % (o["id"], o["tracking_token"]))
                     for o in orders]
        socks = admins + customers
        start = [(await ws_next(ws))["last_event_id"] for ws in socks]
        seen = [[] for _ in socks]
        closed = []

        async def reader(i, ws):
            try:
                async for raw in ws:
                    msg = json.loads(raw)
                    if "event_id" in msg and msg["type"] != "connection":
                        seen[i].append(msg["event_id"])
            except Exception as e:      # noqa: BLE001 -- what closed it
                closed.append((i, repr(e)))
            else:
                closed.append((i, "closed"))

        readers = [asyncio.create_task(reader(i, ws))
                   for i, ws in enumerate(socks)]
        loader = threading.Thread(target=load)
        loader.start()
        await asyncio.sleep(1)
        for _ in range(3):
            await asyncio.to_thread(small.apache_graceful)
            await asyncio.sleep(1.5)
        await asyncio.sleep(1)
        stop.set()
        await asyncio.to_thread(loader.join)
        await asyncio.sleep(3)          # past the event horizon
        still_open = [not t.done() for t in readers]
        for ws in socks:
            await ws.close()
        await asyncio.gather(*readers, return_exceptions=True)
        return socks, start, seen, still_open, closed, len(admins)

    socks, start, seen, still_open, closed, n_admins = run(scenario())
    assert all(still_open), closed
    assert statuses and all(s in (200, 201) for s in statuses), \
        sorted(set(statuses))
    for i in range(len(socks)):
        where = "" if i < n_admins else \
            " AND order_id = %d" % orders[i - n_admins]["id"]
        expected = [int(r[0]) for r in small.mariadb(
            "SELECT id FROM events WHERE id > %d AND type <> 'revoke'%s"
            " ORDER BY id" % (start[i], where))]
        assert sorted(seen[i]) == expected, (i, expected, seen[i])


def raw_upgrade(stack, path, first=b""):
    """Upgrade over a raw socket, with `first` sent in the same write."""
    s = socket.create_connection(("127.0.0.1", stack.port), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    head = ("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
            "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: "
            "timing.v1\r\n\r\n" % (path, stack.port, key))
    s.sendall(head.encode() + first)
    return s


def masked_text(text):
    data = text.encode()
    mask = os.urandom(4)
    assert len(data) < 126
    return (bytes([0x81, 0x80 | len(data)]) + mask
            + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))


class Reader:
    """The 101's head, then the server's (unmasked) text frames."""

    def __init__(self, sock):
        self.sock, self.buf = sock, b""

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("closed")
        self.buf += chunk

    def head(self):
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        return head.decode("latin-1")

    def frame(self):
        while True:
            if len(self.buf) >= 2:
                n = self.buf[1] & 0x7f
                off = 2
                if n == 126 and len(self.buf) >= 4:
                    n = struct.unpack("!H", self.buf[2:4])[0]
                    off = 4
                if n != 126 and len(self.buf) >= off + n:
                    opcode = self.buf[0] & 0x0f
                    data = self.buf[off:off + n]
                    self.buf = self.buf[off + n:]
                    return opcode, data
            self._fill()

    def message(self):
        while True:
            opcode, data = self.frame()
            if opcode == 1:
                return json.loads(data)


def test_a_first_frame_sent_with_the_upgrade_arrives(small, token):
    s = raw_upgrade(small, admin_path(token),
                    first=masked_text('{"type":"ping"}'))
    try:
        r = Reader(s)
        head = r.head()
        assert head.startswith("HTTP/1.1 101"), head
        assert r.message()["type"] == "connection"
        assert r.message() == {"type": "pong"}
    finally:
        s.close()


def test_apache_never_shuts_the_clients_socket_down(small, token):
    if not shutil.which("strace"):
        pytest.skip("no strace")
    pids = [small.procs["apache"].pid] + sorted(small.apache_children())
    out = os.path.join(os.path.dirname(small.log_path("apache")),
                       "strace-handoff.txt")
    argv = ["strace", "-f", "-qq", "-o", out,
            "-e", "trace=sendmsg,shutdown,close"]
    for pid in pids:
        argv += ["-p", str(pid)]
    tracer = subprocess.Popen(argv, stderr=subprocess.DEVNULL)
    time.sleep(1.5)                     # attached
    if tracer.poll() is not None:
        pytest.skip("strace cannot attach here")
    try:
        async def scenario():
            socks = [await ws_open(small, admin_path(token))
                     for _ in range(4)]
            for ws in socks:
                assert (await ws_next(ws))["type"] == "connection"
            await asyncio.sleep(1)
            for ws in socks:
                await ws.send('{"type":"ping"}')
                assert await ws_next(ws) == {"type": "pong"}
            for ws in socks:
                await ws.close()
        run(scenario())
        time.sleep(0.5)
    finally:
        tracer.terminate()
        tracer.wait(10)
    with open(out) as f:
        lines = f.read().splitlines()
    passed = []                         # (line index, fd)
    for i, line in enumerate(lines):
        m = re.search(r"sendmsg\(.*SCM_RIGHTS, cmsg_data=\[(\d+)\]", line)
        if m:
            passed.append((i, int(m.group(1))))
    assert len(passed) >= 4, "\n".join(lines[:40])
    for i, fd in passed:
        closed = False
        for line in lines[i + 1:]:
            if re.search(r"\bshutdown\(%d," % fd, line):
                pytest.fail("Apache shut down handed-off fd %d: %s"
                            % (fd, line))
            if re.search(r"\bclose\(%d\)" % fd, line):
                closed = True
                break
        assert closed, "Apache never closed its copy of fd %d" % fd


def test_daemon_down_is_503_with_retry_after(small, token):
    small.stop_eventd()
    try:
        s = raw_upgrade(small, admin_path(token))
        data = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        except socket.timeout:
            pass
        s.close()
    finally:
        small.start_eventd()
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 503"), data
    assert re.search(rb"\r\nRetry-After: \d+", head), head
    assert json.loads(body)["error"]["code"] == "events_unavailable", body


def test_a_late_hand_off_is_not_answered_twice(small, token):
    """A daemon too busy to take a hand-off within Apache's wait: Apache
    answers 503 itself, and the daemon, reading it later, closes the
    socket without a word -- never a 101 after the 503."""
    daemon = small.procs["eventd"].pid
    before = stats(small, token)["late_handoffs"]
    os.kill(daemon, signal.SIGSTOP)
    try:
        s = raw_upgrade(small, admin_path(token))
        s.settimeout(10)
        reader = Reader(s)
        head = reader.head()
    finally:
        os.kill(daemon, signal.SIGCONT)
    assert head.startswith("HTTP/1.1 503"), head
    length = int(re.search(r"\r\nContent-Length: (\d+)", head).group(1))
    rest = reader.buf
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        rest += chunk
    s.close()
    assert json.loads(rest[:length])["error"]["code"] == \
        "events_unavailable", rest
    assert rest[length:] == b"", rest
    assert stats(small, token)["late_handoffs"] == before + 1


def test_apache_stopped_for_good_says_shutdown(small, token):
    async def scenario():
        order = await asyncio.to_thread(place_order, small)
        socks = [await ws_open(small, admin_path(token)),
                 await ws_open(small, "/orders/%d?tracking_token=%s"
                               % (order["id"], order["tracking_token"]))]
        for ws in socks:
            await ws_next(ws)
        await asyncio.to_thread(small.stop_apache)
        return [await until_closed(ws, 15) for ws in socks]

    try:
        results = run(scenario())
    finally:
        small.start_apache()
    for got, code in results:
        assert '{"type":"disconnect","reason":"shutdown"}' in got, got
        assert code == 1001


def test_off_keeps_the_tunnel(tunnel_stack, tunnel_token):
    async def scenario():
        socks = [await ws_open(tunnel_stack, admin_path(tunnel_token))
                 for _ in range(3)]
        for ws in socks:
            await ws_next(ws)
        figures = await asyncio.to_thread(stats, tunnel_stack, tunnel_token)
        for ws in socks:
            await ws.close()
        return figures

    figures = run(scenario())
    assert figures["sockets"]["handoff"] == 0, figures
    assert figures["sockets"]["tunnel"] >= 3, figures
    assert figures["handoffs"] == 0
