#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""tunnel_floor.py -- what a tunnelled WebSocket costs Apache, beside the
floor: a bare mod_proxy_wstunnel tunnel, part of `make bench`.

For each N in BENCH_FLOOR (default "1000 10000") and each path in
BENCH_FLOOR_PATHS (plain HTTP, then HTTPS), two private stacks,
one after the other, sized as fanout.py sizes its tunnel path (every
Apache process started first, 250 threads each, TimingWebSocketHandoff
off), hold N idle sockets each:

  bare    /bare: a plain ProxyPass to a trivial WebSocket server on a unix
          socket (it says "hello" and reads), no guard: what Apache 2.4
          itself keeps per tunnel -- a worker thread, the connection's and
          the request's pools, the backend connection;
  timing  /admin with a staff token: mod_timing's guard, then the tunnel
          to timing-eventd.

The sockets are held by fanout.py's Node workers (bench/fanout-client.mjs:
a socket counts once its first message came, "hello" or `connection`),
from source addresses of their own in 127.0.0.0/8.  Printed per run:
Apache's resident growth per socket (VmRSS of all its processes after
minus before, over the sockets connected), the sockets connected, still
established when memory was read, and the database connections open then
(MariaDB's Threads_connected, Apache's and timing-eventd's), the growth
by kind of mapping (thread stacks, heap, shmem, file); then Timing's
growth over the floor.  Only idle sockets are measured.

  BENCH_FLOOR="1000" bench/tunnel_floor.py
  BENCH_FLOOR_DEFINES="TIMING_DBD_MAX=2" BENCH_FLOOR_CONF="DBDKeep 2" \
      bench/tunnel_floor.py

BENCH_FLOOR_DEFINES  NAME=VALUE words passed on to conf/httpd.conf.in
                     over the sizing's (e.g. TIMING_DBD_MAX, 6 by default;
                     under 4 it needs a DBDKeep no larger, or mod_dbd
                     has no pool and every request is 503)
BENCH_FLOOR_PATHS    "tunnel tls" by default: plain HTTP with the hand-off
                     off, and HTTPS (mod_ssl, the stacks' self-signed
                     certificate), where both tunnels also carry TLS
BENCH_FLOOR_CONF     more lines for both stacks' httpd.conf (e.g.
                     "ThreadStackSize 262144")
"""

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import websockets

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from fanout import (TimingTarget, counted, open_sockets,  # noqa
                    raise_nofile, words)
from procstat import apache_pids, rss_kib, rss_parts  # noqa: E402

SIZES = [int(n) for n in os.environ.get("BENCH_FLOOR", "1000 10000").split()]
# "tunnel": plain HTTP with the hand-off off; "tls": HTTPS (mod_ssl),
# where every wss:// socket is tunnelled.
PATHS = os.environ.get("BENCH_FLOOR_PATHS", "tunnel tls").split()
DEFINES = dict(w.split("=", 1) for w in
               os.environ.get("BENCH_FLOOR_DEFINES", "").split())


def serve_bare(path, ready):
    """The trivial backend: every connection gets "hello", then is read
    until it closes."""
    async def handler(ws, *_):
        try:
            await ws.send("hello")
            async for _ in ws:
                pass
        except websockets.ConnectionClosed:
            pass    # the workers are killed, not closed

    async def main():
        async with websockets.unix_serve(handler, path, max_size=2 ** 16,
                                         ping_interval=None):
            os.chmod(path, 0o777)
            ready.set()
            await asyncio.Future()

    asyncio.run(main())


def established(port):
    """TCP connections established to port (the sockets' server ends)."""
    out = subprocess.run(["ss", "-Htn", "state", "established",
                          "( sport = :%d )" % port],
                         capture_output=True, text=True).stdout
    return len(out.splitlines())


def measure(n, which, path):
    """One fresh stack holding n sockets on "bare" or "timing", over
    plain HTTP ("tunnel") or HTTPS ("tls"); prints and returns Apache's
    growth per socket in KiB."""
    tmp = tempfile.mkdtemp(prefix="timing-floor-", dir="/tmp")
    os.chmod(tmp, 0o711)
    backend = os.path.join(tmp, "bare.sock")
    extra = os.path.join(tmp, "bare.conf")
    with open(extra, "w") as f:
        f.write('<Location "/bare">\n'
                '    ProxyWebsocketFallbackToProxyHttp Off\n'
                '    ProxyPass "unix:%s|ws://bare/"\n'
                '</Location>\n%s\n'
                % (backend, os.environ.get("BENCH_FLOOR_CONF", "")))
    if which == "bare":
        ready = threading.Event()
        threading.Thread(target=serve_bare, args=(backend, ready),
                         daemon=True).start()
        ready.wait(10)
    target = TimingTarget(path, n)
    target.defines.update(DEFINES, TIMING_EXTRA_CONF=extra)
    workers = []
    try:
        target.start()
        stack = target.stack
        url = ("%s://127.0.0.1:%d/bare" % (stack.ws_scheme, stack.port)
               if which == "bare" else target.url)
        time.sleep(1)
        before = rss_kib(apache_pids(stack))
        parts0 = rss_parts(apache_pids(stack))
        workers, ready, took, _ = open_sockets(url, n, **target.client)
        time.sleep(2)
        after = rss_kib(apache_pids(stack))
        parts1 = rss_parts(apache_pids(stack))
        held = established(stack.port)
        dbc = stack.mariadb("SHOW STATUS LIKE 'Threads_connected'",
                            database=None)[0][1]
        connected = sum(r["connected"] for r in ready)
        lost = counted([r["refused"] for r in ready]
                       + [r["errors"] for r in ready])
        kib = (after - before) / max(connected, 1)
        print("  %-3s %-6s %6d connected in %.1f s (lost: %s), %d established "
              "at the reading; Apache %d processes, %.0f -> %.0f MiB, "
              "%.1f KiB a socket; database connections %s"
              % (path, which, connected, took, words(lost), held,
                 len(apache_pids(stack)), before / 1024, after / 1024, kib,
                 dbc), flush=True)
        print("         a socket's growth by kind: %s KiB" % ", ".join(
            "%s %.1f" % (k, (parts1[k] - parts0[k]) / max(connected, 1))
            for k in parts1), flush=True)
        return kib
    finally:
        for w in workers:
            w.stop()
        target.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise_nofile()
    print("Tunnel floor: idle WebSockets through mod_proxy_wstunnel, a bare "
          "tunnel beside Timing's (TimingWebSocketHandoff off), over %s%s"
          % (" and ".join("HTTPS" if p == "tls" else "plain HTTP"
                          for p in PATHS),
             "; " + " ".join("%s=%s" % d for d in sorted(DEFINES.items()))
             if DEFINES else ""), flush=True)
    for size in SIZES:
        for path in PATHS:
            bare = measure(size, "bare", path)
            timing = measure(size, "timing", path)
            print("%6d sockets%s: Apache per socket: bare tunnel %.1f KiB, "
                  "Timing's tunnel %.1f KiB (%+.0f%% over the floor)"
                  % (size, " over TLS" if path == "tls" else "", bare,
                     timing, 100 * (timing - bare) / bare), flush=True)
