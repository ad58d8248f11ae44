#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""tunnel_floor.py -- what a tunnelled WebSocket costs Apache, beside the
floor: a bare mod_proxy_wstunnel tunnel, part of `make bench`.

For each N in BENCH_FLOOR (default "1000"), two private stacks, one after
the other, with Apache sized for N proxied sockets (every process started
first, 250 threads each) and TimingWebSocketHandoff off, hold N idle
sockets each:

  bare    /bare: a plain ProxyPass to a trivial WebSocket server on a unix
          socket (it says "hello" and reads), no guard: what Apache 2.4
          itself keeps per tunnel -- a worker thread, the connection's and
          the request's pools, the backend connection;
  timing  /admin with a staff token: mod_timing's guard, then the tunnel
          to timing-eventd.

Printed: Apache's resident memory growth per socket (all its processes,
VmRSS after minus before, over N) for each, and Timing's over the floor.
The sockets are Python asyncio clients: only idle sockets are measured.
They do not yet reach 10,000 (their handshakes time out at that size;
fanout.py's Node workers would).

  BENCH_FLOOR="1000" bench/tunnel_floor.py
"""

import asyncio
import json
import os
import resource
import shutil
import sys
import tempfile
import threading
import time
import urllib.request

import websockets

HERE = os.path.dirname(os.path.abspath(__file__))
CHECKOUT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(CHECKOUT, "scripts"))

import stack as stackmod  # noqa: E402
from procstat import apache_pids, rss_kib  # noqa: E402

SIZES = [int(n) for n in os.environ.get("BENCH_FLOOR", "1000").split()]
THREADS = 250


def serve_bare(path, ready):
    """The trivial backend: every connection gets "hello", then is read
    until it closes."""
    async def handler(ws, *_):
        await ws.send("hello")
        async for _ in ws:
            pass

    async def main():
        async with websockets.unix_serve(handler, path, max_size=2 ** 16):
            os.chmod(path, 0o777)
            ready.set()
            await asyncio.Future()

    asyncio.run(main())


def login(stack):
    req = urllib.request.Request(
        stack.base_url + "/api/auth/login", data=json.dumps({
            "email": stack.admin_email,
            "password": stack.admin_password}).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as ans:
        return json.load(ans)["data"]["token"]


async def hold(url, n, concurrency=50):
    """n idle sockets on url, each past its first message."""
    socks = []

    async def one():
        ws = await websockets.connect(url, ping_interval=None,
                                      open_timeout=60, close_timeout=2)
        await ws.recv()
        socks.append(ws)

    for i in range(0, n, concurrency):
        await asyncio.gather(*(one() for _ in range(min(concurrency,
                                                       n - i))))
    return socks


def per_socket(stack, url, n):
    """Apache's resident growth per socket while n sockets on url are
    held, in KiB."""
    async def run():
        before = rss_kib(apache_pids(stack))
        socks = await hold(url, n)
        await asyncio.sleep(2)
        after = rss_kib(apache_pids(stack))
        await asyncio.gather(*(ws.close() for ws in socks),
                             return_exceptions=True)
        await asyncio.sleep(2)
        return (after - before) / n

    return asyncio.run(run())


def measure(n, which):
    """Apache's growth per socket for n sockets on a fresh stack: "bare"
    or "timing"."""
    tmp = tempfile.mkdtemp(prefix="timing-floor-", dir="/tmp")
    os.chmod(tmp, 0o711)
    backend = os.path.join(tmp, "bare.sock")
    extra = os.path.join(tmp, "bare.conf")
    with open(extra, "w") as f:
        f.write('<Location "/bare">\n'
                '    ProxyWebsocketFallbackToProxyHttp Off\n'
                '    ProxyPass "unix:%s|ws://bare/"\n'
                '</Location>\n' % backend)
    if which == "bare":
        ready = threading.Event()
        threading.Thread(target=serve_bare, args=(backend, ready),
                         daemon=True).start()
        ready.wait(10)
    servers = n // THREADS + 3
    stack = stackmod.Stack(
        os.path.join(tmp, "state"), os.path.join(tmp, "run"),
        stackmod.free_port(),
        defines={"TIMING_SERVER_LIMIT": str(servers),
                 "TIMING_START_SERVERS": str(servers),
                 "TIMING_THREADS_PER_CHILD": str(THREADS),
                 "TIMING_MAX_WORKERS": str(servers * THREADS),
                 "TIMING_MAX_SOCKETS": str(n + 100),
                 "TIMING_TUNNEL_SOCKETS": str(n + 100),
                 "TIMING_WEBSOCKET_HANDOFF": "off",
                 "TIMING_DBD_MAX": "6",
                 "TIMING_EXTRA_CONF": extra})
    try:
        stack.start()
        token = login(stack)
        time.sleep(1)
        base = "ws://127.0.0.1:%d" % stack.port
        url = (base + "/bare" if which == "bare"
               else base + "/admin?token=" + token)
        return per_socket(stack, url, n)
    finally:
        stack.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    print("Tunnel floor: idle WebSockets through mod_proxy_wstunnel, a bare "
          "tunnel beside Timing's (TimingWebSocketHandoff off)")
    for size in SIZES:
        bare = measure(size, "bare")
        timing = measure(size, "timing")
        print("%6d sockets: Apache per socket: bare tunnel %.1f KiB, "
              "Timing's tunnel %.1f KiB (%+.0f%% over the floor)"
              % (size, bare, timing, 100 * (timing - bare) / bare))
