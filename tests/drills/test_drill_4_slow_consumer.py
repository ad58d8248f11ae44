# SPDX-License-Identifier: Apache-2.0
"""Drill 4: a staff socket that stops reading while large orders flow.
timing-eventd queues its output only up to --max-queue: past it the
client is told `slow_client` (1008) and cut off, the other clients miss
nothing, and the daemon's memory comes back to where it was.

The slow client is a raw TCP socket through Apache with a small receive
buffer that never reads after the handshake; once it has been dropped it
reads what reached it, to see the goodbye.  The daemon is the optimised
build here: AddressSanitizer's quarantine would hide what is given back."""

import asyncio
import base64
import json
import os
import socket
import struct
import threading
import time

from client import (admin_login, get_ok, place_order, post_order, put_status,
                    request)
from drill_lib import (Client, account, close_stack, open_stack, rss_kb,
                       start_clients, stop_clients, write_figures)

MAX_QUEUE = 256 * 1024
RING = 64               # so the warm-up fills the ring: memory steady after
LINES = 50
NOTE = "ไม่ใส่ถั่ว ไม่เผ็ด " * 10          # 190 characters


def big_order(stack, menu):
    return post_order(stack, "ลูกค้าคนช้า", phone="0812345678",
                      items=[{"menu_id": menu[i % len(menu)], "quantity": 1,
                              "note": NOTE} for i in range(LINES)],
                      note="ช" * 400).status


def slow_socket(stack, token):
    """Upgrades /admin on a raw socket and returns it unread."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", stack.port))
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(("GET /admin HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
               "Upgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
               "Sec-WebSocket-Protocol: timing.v1, bearer.%s\r\n\r\n"
               % (stack.port, key, token)).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(1)
    assert head.startswith(b"HTTP/1.1 101"), head
    return s


def read_frames(s, timeout=30):
    """Every frame until the close frame or EOF: (texts, close code)."""
    s.settimeout(timeout)
    data = b""
    texts, code = [], None
    while True:
        try:
            chunk = s.recv(1 << 20)
        except socket.timeout:
            break
        if not chunk:
            break
        data += chunk
    pos = 0
    while pos + 2 <= len(data):
        opcode, n = data[pos] & 0x0F, data[pos + 1] & 0x7F
        pos += 2
        if n == 126:
            n, = struct.unpack(">H", data[pos:pos + 2])
            pos += 2
        elif n == 127:
            n, = struct.unpack(">Q", data[pos:pos + 8])
            pos += 8
        payload = data[pos:pos + n]
        pos += n
        if opcode == 1:
            texts.append(payload.decode())
        elif opcode == 8:
            code = struct.unpack(">H", payload[:2])[0] if payload else 1005
            break
    return texts, code, len(data)


def stats(stack, token):
    return get_ok(stack, "/api/admin/websocket/stats", token)["data"]


def test_slow_consumer_is_cut_off_alone(tmp_root, ws_path):
    stack = open_stack(tmp_root, "drill-slow", ws_path, release=True,
                       eventd_args=["--max-queue", str(MAX_QUEUE),
                                    "--ring-size", str(RING)])
    try:
        token = admin_login(stack)
        pid = stack.procs["eventd"].pid
        menu = [m["id"] for m in request(stack, "GET", "/api/menu")
                .json["data"] if m["available"]]
        for _ in range(RING + 16):          # fill the ring: steady state
            assert big_order(stack, menu) == 201
        tracked = [place_order(stack, "ลูกค้า %d" % i) for i in range(2)]
        stopping = threading.Event()
        answers = []

        def load():
            while not stopping.is_set():
                answers.append(big_order(stack, menu))
                for o in tracked:
                    answers.append(put_status(
                        stack, token, o["id"], "preparing" if len(answers) % 2
                        else "pending").status)

        async def scenario():
            clients = [Client(stack, token, "/admin",
                              ["timing.v1", "bearer." + token])
                       for _ in range(2)]
            clients += [Client(stack, token, "/orders/%d" % o["id"],
                               ["timing.v1", "tracking." + o["tracking_token"]],
                               order_id=o["id"], tracking=o["tracking_token"])
                        for o in tracked]
            tasks = await start_clients(clients)
            await asyncio.sleep(0.5)
            before = rss_kb(pid)
            dropped_before = stats(stack, token)["slow_clients_dropped"]
            slow = await asyncio.to_thread(slow_socket, stack, token)
            started = time.monotonic()
            threads = [threading.Thread(target=load) for _ in range(3)]
            for t in threads:
                t.start()
            peak, dropped_after = before, None
            while time.monotonic() - started < 120:
                peak = max(peak, rss_kb(pid))
                st = await asyncio.to_thread(stats, stack, token)
                if st["slow_clients_dropped"] > dropped_before:
                    dropped_after = time.monotonic() - started
                    break
                await asyncio.sleep(0.05)
            stopping.set()
            for t in threads:
                await asyncio.to_thread(t.join)
            sent = sum(1 for a in answers if a in (200, 201))
            # The goodbye reaches the slow client once it reads again.
            texts, code, received = await asyncio.to_thread(read_frames, slow)
            slow.close()
            # Until the daemon holds only the clients that keep up.
            deadline = time.monotonic() + 30
            while (await asyncio.to_thread(stats, stack, token)
                   )["connections"]["total"] > len(clients):
                assert time.monotonic() < deadline, "the slow socket stays"
                await asyncio.sleep(0.2)
            await asyncio.sleep(1)
            after = rss_kb(pid)
            await stop_clients(clients, tasks)
            return (clients, before, peak, after, dropped_after, sent,
                    texts, code, received)

        (clients, before, peak, after, dropped_after, sent, texts, code,
         received) = asyncio.run(scenario())
        events, delivered, lost, duplicated, problems = account(stack,
                                                                clients)
        final = stats(stack, token)
        with open(stack.log_path("eventd"), errors="replace") as f:
            logged = "dropping a slow client" in f.read()
        write_figures("4 slow consumer (%s)" % ws_path, (
            "max-queue %d KiB, cut off %.1f s after it stopped reading "
            "(%d requests meanwhile); reading again it found %.1f MB: %d "
            "messages, then %s and close %s; slow_clients_dropped %d; "
            "other clients %d: "
            "events due %d, lost %d, duplicated %d, reconnects %d; daemon "
            "RSS before %d KiB, peak %d KiB, after %d KiB" % (
                MAX_QUEUE // 1024, dropped_after or -1, sent,
                received / 1e6, len(texts),
                texts[-1] if texts else None, code,
                final["slow_clients_dropped"], len(clients), events, lost,
                duplicated, sum(c.connections - 1 for c in clients),
                before, peak, after)))

        assert dropped_after is not None, "the slow client was never cut off"
        assert final["slow_clients_dropped"] == 1
        assert logged
        assert texts and json.loads(texts[-1]) == {
            "type": "disconnect", "reason": "slow_client"}, texts[-1:]
        assert code == 1008
        assert not problems, "\n".join(problems)
        assert lost == 0 and duplicated == 0
        # The others kept their first connection: nothing cut them off.
        assert all(c.connections == 1 for c in clients), \
            [(c.path, c.closes) for c in clients]
        assert after <= before + max(2048, before // 10), (before, after)
    finally:
        close_stack(stack)
