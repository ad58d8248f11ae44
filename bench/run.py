#!/usr/bin/python3
"""run.py -- `make bench`: figures for Timing on a private stack.

Starts the same stack as the tests (release build of the daemon) on a free
port and prints, for each endpoint, throughput and latency percentiles from
ApacheBench (ab, apache2-utils) beside the baseline of a static file served
by the same Apache in the same run; then the memory each open /admin
WebSocket costs the daemon and Apache.  Figures only: nothing is asserted.

  BENCH_REQUESTS=20000 BENCH_CONCURRENCY=32 BENCH_SOCKETS=200 make bench
"""

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
CHECKOUT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(CHECKOUT, "scripts"))
sys.path.insert(0, os.path.join(CHECKOUT, "tests", "integration"))

import stack as stackmod  # noqa: E402
from conftest import free_port  # noqa: E402

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "20000"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "32"))
SOCKETS = int(os.environ.get("BENCH_SOCKETS", "200"))


def ab(url, extra=(), requests=None):
    """Requests per second and latency percentiles (ms) from ab -k."""
    out = subprocess.run(["ab", "-q", "-k", "-n", str(requests or REQUESTS),
                          "-c", str(CONCURRENCY), *extra, url],
                         capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests per second:\s+([\d.]+)", out).group(1))
    # Length "failures" are answers of varying size (order ids): not errors.
    failed = sum(int(n) for n in re.findall(
        r"(?:Connect|Receive|Exceptions): (\d+)", out))
    non2xx = re.search(r"Non-2xx responses:\s+(\d+)", out)
    pct = dict(re.findall(r"^\s+(\d+)%\s+(\d+)", out, re.M))
    return {"rps": rps, "p50": pct.get("50"), "p90": pct.get("90"),
            "p99": pct.get("99"), "max": pct.get("100"),
            "errors": failed + (int(non2xx.group(1)) if non2xx else 0)}


def ab_post(url, body_file):
    return ab(url, ("-p", body_file, "-T", "application/json"),
              requests=max(REQUESTS // 10, 100))


def rss_kib(pids):
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/status" % pid) as f:
                total += int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))
        except (OSError, AttributeError):
            pass
    return total


def apache_pids(stack):
    out = subprocess.run(["pgrep", "-g", str(stack.procs["apache"].pid)],
                         capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


async def hold_sockets(stack, token, n):
    import websockets
    sockets = []
    for _ in range(n):
        ws = await websockets.connect("ws://127.0.0.1:%d/admin?token=%s"
                                      % (stack.port, token))
        await ws.recv()
        sockets.append(ws)
    return sockets


def socket_memory(stack, token):
    daemon = [stack.procs["eventd"].pid]
    before_d, before_a = rss_kib(daemon), rss_kib(apache_pids(stack))

    async def scenario():
        sockets = await hold_sockets(stack, token, SOCKETS)
        await asyncio.sleep(1)
        after = rss_kib(daemon), rss_kib(apache_pids(stack))
        for ws in sockets:
            await ws.close()
        return after

    after_d, after_a = asyncio.run(scenario())
    return ((after_d - before_d) / SOCKETS, (after_a - before_a) / SOCKETS)


def order_latency(stack, token, n=200):
    """Milliseconds from the POST's answer to the newOrder on a staff
    socket (negative: the event came first), over n sequential orders."""
    import http.client
    import json
    import websockets

    body = json.dumps({"customer_info": {"name": "Bench"},
                       "items": [{"menu_id": 1, "quantity": 1}]})

    async def scenario():
        ws = await websockets.connect("ws://127.0.0.1:%d/admin?token=%s"
                                      % (stack.port, token))
        await ws.recv()
        conn = http.client.HTTPConnection("127.0.0.1", stack.port)
        gaps = []
        for _ in range(n):
            conn.request("POST", "/api/orders", body=body,
                         headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            order_id = json.loads(resp.read())["data"]["id"]
            answered = time.perf_counter()
            while True:
                msg = json.loads(await ws.recv())
                if msg.get("order", {}).get("id") == order_id:
                    break
            gaps.append((time.perf_counter() - answered) * 1000)
        await ws.close()
        return sorted(gaps)

    return asyncio.run(scenario())


def main():
    tmp = tempfile.mkdtemp(prefix="timing-bench-", dir="/tmp")
    os.chmod(tmp, 0o711)
    stack = stackmod.Stack(os.path.join(tmp, "state"),
                           os.path.join(tmp, "run"), free_port())
    try:
        stack.start()
        base = stack.base_url
        print("Timing bench: %d requests, concurrency %d, keep-alive "
              "(ab)" % (REQUESTS, CONCURRENCY))
        print("%-28s %10s %7s %7s %7s %7s %7s" % (
            "endpoint", "req/s", "p50ms", "p90ms", "p99ms", "maxms",
            "errors"))
        for label, path in (("baseline: static index.html", "/index.html"),
                            ("GET /api/health", "/api/health"),
                            ("GET /api/shop", "/api/shop"),
                            ("GET /api/menu", "/api/menu")):
            ab(base + path)         # warm the pools and caches
            r = ab(base + path)
            print("%-28s %10.0f %7s %7s %7s %7s %7d" % (
                label, r["rps"], r["p50"], r["p90"], r["p99"], r["max"],
                r["errors"]))
        with open(os.path.join(tmp, "order.json"), "w") as f:
            f.write('{"customer_info":{"name":"Bench"},'
                    '"items":[{"menu_id":1,"quantity":2},'
                    '{"menu_id":3,"quantity":1}]}')
        r = ab_post(base + "/api/orders", os.path.join(tmp, "order.json"))
        print("%-28s %10.0f %7s %7s %7s %7s %7d" % (
            "POST /api/orders", r["rps"], r["p50"], r["p90"], r["p99"],
            r["max"], r["errors"]))

        login = json.loads(urllib.request.urlopen(urllib.request.Request(
            base + "/api/auth/login", method="POST",
            headers={"Content-Type": "application/json"},
            data=json.dumps({"email": stack.admin_email,
                             "password": stack.admin_password}).encode()
        )).read())
        gaps = order_latency(stack, login["data"]["token"])
        print("\nnewOrder on a staff socket after the POST's answer "
              "(%d orders, one at a time):" % len(gaps))
        print("  p50 %.2f ms   p90 %.2f ms   p99 %.2f ms   max %.2f ms" % (
            gaps[len(gaps) // 2], gaps[int(len(gaps) * .9)],
            gaps[int(len(gaps) * .99)], gaps[-1]))

        daemon_kib, apache_kib = socket_memory(stack, login["data"]["token"])
        print("\n/admin WebSocket memory, %d open sockets:" % SOCKETS)
        print("  timing-eventd  %6.1f KiB per socket" % daemon_kib)
        print("  Apache         %6.1f KiB per socket (one worker thread "
              "each)" % apache_kib)
    finally:
        stack.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
