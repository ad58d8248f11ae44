#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""fanout.py -- WebSocket fan-out through Apache, part of `make bench`.

For each N in BENCH_FANOUT (default "1000 10000"): a private stack with
Apache sized for N proxied sockets, N idle /admin sockets held by client
processes (spread so none needs more than its share of descriptors or CPU),
then orders posted at 10 a second for BENCH_FANOUT_SECONDS.  Prints, per N:
latency from each POST's answer to receipt on every socket (p50, p99,
max), messages missing and duplicated, memory per idle socket for the
daemon and for Apache (RSS after minus before, over N), and the CPU
seconds each side used while the orders went out.  Figures, not asserts.
"""

import asyncio
import json
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
CHECKOUT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(CHECKOUT, "scripts"))
sys.path.insert(0, os.path.join(CHECKOUT, "tests", "integration"))

import stack as stackmod  # noqa: E402
from procstat import apache_pids, cpu_seconds, rss_kib  # noqa: E402
from conftest import free_port  # noqa: E402

SIZES = [int(n) for n in os.environ.get("BENCH_FANOUT",
                                        "1000 10000").split()]
SECONDS = int(os.environ.get("BENCH_FANOUT_SECONDS", "10"))
RATE = 10                       # orders a second
PER_CLIENT = 500                # sockets per client process
ORDER = json.dumps({"customer_info": {"name": "Fan-out"},
                    "items": [{"menu_id": 1, "quantity": 1}]}).encode()


def client(port, token, n, ready, done, out):
    """Holds n sockets; records (order id, time) for every newOrder."""
    import websockets

    async def one(received):
        ws = await websockets.connect(
            "ws://127.0.0.1:%d/admin?token=%s" % (port, token),
            open_timeout=120, ping_interval=None, max_queue=None)
        await ws.recv()                         # connection
        return ws

    async def main():
        received = []
        sockets = []
        for i in range(0, n, 50):               # in batches of 50
            sockets += await asyncio.gather(*[one(received) for _ in
                                              range(min(50, n - i))])
        ready.release()

        async def listen(idx, ws):
            try:
                async for text in ws:
                    m = json.loads(text)
                    if m.get("type") == "newOrder":
                        received.append(((os.getpid(), idx),
                                         m["order"]["id"],
                                         time.monotonic()))
            except websockets.ConnectionClosed:
                pass

        tasks = [asyncio.create_task(listen(i, ws))
                 for i, ws in enumerate(sockets)]
        while not done.is_set():
            await asyncio.sleep(0.1)
        # Drain: stop only when nothing more has come for 2 s (at most
        # 60 s), so late messages count as late, not as missing.
        quiet, last, waited = 0, -1, 0
        while quiet < 2 and waited < 60:
            await asyncio.sleep(1)
            waited += 1
            quiet = quiet + 1 if len(received) == last else 0
            last = len(received)
        for ws in sockets:
            ws.transport.abort()
        for t in tasks:
            t.cancel()
        out.put(received)

    asyncio.run(main())




def post(stack, path, body, token=None):
    req = urllib.request.Request(stack.base_url + path, data=body,
                                 method="POST")
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    return json.loads(urllib.request.urlopen(req, timeout=30).read())


def run_size(n):
    tmp = tempfile.mkdtemp(prefix="timing-fanout-", dir="/tmp")
    os.chmod(tmp, 0o711)
    threads = 250
    servers = n // threads + 3
    stack = stackmod.Stack(
        os.path.join(tmp, "state"), os.path.join(tmp, "run"), free_port(),
        # All of Apache's processes from the start, so the memory figure is
        # the sockets' and not the cost of starting processes.
        defines={"TIMING_SERVER_LIMIT": str(servers),
                 "TIMING_START_SERVERS": str(servers),
                 "TIMING_THREADS_PER_CHILD": str(threads),
                 "TIMING_MAX_WORKERS": str(servers * threads),
                 "TIMING_MAX_SOCKETS": str(n + 100),
                 # Many processes: few database connections each.
                 "TIMING_DBD_MAX": "6",
                 "TIMING_ORDER_RATE_LIMIT": "0"})
    try:
        stack.start()
        token = post(stack, "/api/auth/login", json.dumps({
            "email": stack.admin_email,
            "password": stack.admin_password}).encode())["data"]["token"]
        daemon = [stack.procs["eventd"].pid]
        before = rss_kib(daemon), rss_kib(apache_pids(stack))

        ctx = multiprocessing.get_context("fork")
        ready, done, out = ctx.Semaphore(0), ctx.Event(), ctx.Queue()
        shares = [PER_CLIENT] * (n // PER_CLIENT) + (
            [n % PER_CLIENT] if n % PER_CLIENT else [])
        procs = [ctx.Process(target=client, args=(stack.port, token, k,
                                                  ready, done, out))
                 for k in shares]
        started = time.monotonic()
        for p in procs:
            p.start()
        for _ in procs:
            ready.acquire()
        held = time.monotonic() - started
        time.sleep(1)
        after = rss_kib(daemon), rss_kib(apache_pids(stack))

        sides = {"timing-eventd": daemon, "Apache": apache_pids(stack),
                 "clients": [p.pid for p in procs]}
        cpu0 = {k: cpu_seconds(v) for k, v in sides.items()}
        answered = {}
        for i in range(SECONDS * RATE):
            at = started_at = time.monotonic()
            order = post(stack, "/api/orders", ORDER)["data"]
            answered[order["id"]] = time.monotonic()
            time.sleep(max(0, 1 / RATE - (time.monotonic() - at)))
            del started_at
        done.set()
        received = []
        for _ in procs:
            received += out.get(timeout=120)
        cpu = {k: cpu_seconds(v) - cpu0[k] for k, v in sides.items()}
        for p in procs:
            p.join(30)

        lat, count = [], {}
        for sock, oid, t in received:
            if oid in answered:
                lat.append((t - answered[oid]) * 1000)
                count[(sock, oid)] = count.get((sock, oid), 0) + 1
        expected = n * len(answered)
        missing = expected - len(count)
        duplicated = sum(c - 1 for c in count.values())
        lat.sort()
        pct = (lambda q: lat[min(len(lat) - 1, int(len(lat) * q))]) \
            if lat else (lambda q: float("nan"))
        print("\n%d sockets held through Apache (opened in %.1f s); %d "
              "orders at %d/s" % (n, held, len(answered), RATE))
        print("  fan-out latency  p50 %.1f ms   p99 %.1f ms   max %.1f ms"
              % (pct(.5), pct(.99), lat[-1] if lat else float("nan")))
        print("  messages missing %d, duplicated %d (of %d)"
              % (missing, duplicated, expected))
        print("  memory per idle socket: timing-eventd %.1f KiB, Apache "
              "%.1f KiB" % ((after[0] - before[0]) / n,
                            (after[1] - before[1]) / n))
        print("  CPU while posting: " + ", ".join(
            "%s %.1f s" % (k, v) for k, v in cpu.items()))
    finally:
        stack.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    print("Timing fan-out bench: /admin sockets through Apache, orders at "
          "%d/s for %d s" % (RATE, SECONDS))
    for size in SIZES:
        run_size(size)
