#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""run.py -- `make bench`: figures for Timing on a private stack.

Starts the same stack as the tests (release build of the daemon, the
per-address order limit lifted with TimingOrderRateLimit 0) on a free port
and prints, from wrk at BENCH_CONNECTIONS connections for BENCH_SECONDS
each: requests/s, p50, p90 and p99 for the API's hot paths beside Apache
serving a small static file from the same server (the ceiling), with each
endpoint's ratio to it and every non-2xx answer counted.  Then the delay
from a POST's answer to its newOrder on a staff socket, and the memory an
open /admin WebSocket costs the daemon and Apache.  Figures only: nothing
here is asserted.

  BENCH_SECONDS=10 BENCH_CONNECTIONS=32 BENCH_SOCKETS=200 make bench
"""

import asyncio
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CHECKOUT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(CHECKOUT, "scripts"))
sys.path.insert(0, os.path.join(CHECKOUT, "tests", "integration"))

import stack as stackmod  # noqa: E402
from procstat import apache_pids, rss_kib  # noqa: E402
from conftest import free_port  # noqa: E402

SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
SOCKETS = int(os.environ.get("BENCH_SOCKETS", "200"))
ORDER = {"customer_info": {"name": "Bench", "phone": "0812345678"},
         "items": [{"menu_id": 1, "quantity": 2}, {"menu_id": 3,
                                                  "quantity": 1}]}

# wrk script: method, body and headers from the environment; counts
# answers by status so every non-2xx is reported.
WRK_LUA = r"""
wrk.method = os.getenv("BENCH_METHOD") or "GET"
local body = os.getenv("BENCH_BODY")
if body and #body > 0 then
  wrk.body = body
  wrk.headers["Content-Type"] = "application/json"
end
local auth = os.getenv("BENCH_AUTH")
if auth and #auth > 0 then wrk.headers["Authorization"] = auth end
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) bad = 0 end
function response(status, headers, body)
  if status < 200 or status > 299 then bad = bad + 1 end
end
function done(summary, latency, requests)
  local n = 0
  for _, t in ipairs(threads) do n = n + t:get("bad") end
  io.write(string.format(
    "BENCH p50=%f p90=%f p99=%f rps=%f bad=%d errors=%d\n",
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000,
    summary.requests / (summary.duration / 1e6), n,
    summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout))
end
"""


def wrk(url, script, method="GET", body="", auth="", seconds=None):
    env = dict(os.environ, BENCH_METHOD=method, BENCH_BODY=body,
               BENCH_AUTH=auth)
    out = subprocess.run(["wrk", "-t", "2", "-c", str(CONNECTIONS), "-d",
                          "%ds" % (seconds or SECONDS), "-s", script, url],
                         capture_output=True, text=True, env=env,
                         check=True).stdout
    return wrk_figures(out)


def wrk_figures(out):
    """WRK_LUA's line in wrk's output: p50, p90 and p99 in ms, requests/s,
    answers other than 2xx and socket errors; None when it is missing."""
    m = re.search(r"BENCH p50=([\d.]+) p90=([\d.]+) p99=([\d.]+) "
                  r"rps=([\d.]+) bad=(\d+) errors=(\d+)", out)
    if not m:
        return None
    return {"p50": float(m.group(1)), "p90": float(m.group(2)),
            "p99": float(m.group(3)), "rps": float(m.group(4)),
            "non2xx": int(m.group(5)) + int(m.group(6))}


def call(stack, method, path, body=None, token=None):
    conn = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=30)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    conn.request(method, path, body=json.dumps(body) if body else None,
                 headers=headers)
    resp = conn.getresponse()
    data = json.loads(resp.read())
    conn.close()
    return data["data"]






def socket_memory(stack, token):
    import websockets
    daemon = [stack.procs["eventd"].pid]

    async def scenario():
        # Warm Apache's children up to the sockets' size first, so the
        # figure is the sockets' cost, not the cost of starting processes.
        warm = [await websockets.connect("ws://127.0.0.1:%d/admin?token=%s"
                                         % (stack.port, token))
                for _ in range(SOCKETS)]
        for ws in warm:
            await ws.close()
        await asyncio.sleep(1)
        before = rss_kib(daemon), rss_kib(apache_pids(stack))
        sockets = []
        for _ in range(SOCKETS):
            ws = await websockets.connect("ws://127.0.0.1:%d/admin?token=%s"
                                          % (stack.port, token))
            await ws.recv()
            sockets.append(ws)
        await asyncio.sleep(1)
        after = rss_kib(daemon), rss_kib(apache_pids(stack))
        for ws in sockets:
            await ws.close()
        return before, after

    before, after = asyncio.run(scenario())
    return ((after[0] - before[0]) / SOCKETS,
            (after[1] - before[1]) / SOCKETS)


def order_latency(stack, token, n=200):
    """Milliseconds from the POST's answer to the newOrder on a staff
    socket (negative: the event came first), over n sequential orders."""
    import websockets

    body = json.dumps(ORDER)

    async def scenario():
        ws = await websockets.connect("ws://127.0.0.1:%d/admin?token=%s"
                                      % (stack.port, token))
        await ws.recv()
        conn = http.client.HTTPConnection("127.0.0.1", stack.port)
        gaps = []
        for _ in range(n):
            conn.request("POST", "/api/orders", body=body,
                         headers={"Content-Type": "application/json"})
            order_id = json.loads(conn.getresponse().read())["data"]["id"]
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
                           os.path.join(tmp, "run"), free_port(),
                           defines={"TIMING_ORDER_RATE_LIMIT": "0"})
    script = os.path.join(tmp, "bench.lua")
    with open(script, "w") as f:
        f.write(WRK_LUA)
    try:
        stack.start()
        base = stack.base_url
        token = call(stack, "POST", "/api/auth/login",
                     {"email": stack.admin_email,
                      "password": stack.admin_password})["token"]
        order = call(stack, "POST", "/api/orders", ORDER)
        for _ in range(60):         # a board with something on it
            call(stack, "POST", "/api/orders", ORDER)
        status_path = "/api/orders/%d/status?tracking_token=%s" % (
            order["id"], order["tracking_token"])
        runs = [
            ("static file (ceiling)", base + "/index.html", {}),
            ("GET /api/orders/:id/status", base + status_path, {}),
            ("GET /api/admin/orders", base + "/api/admin/orders",
             {"auth": "Bearer " + token}),
            ("POST /api/orders", base + "/api/orders",
             {"method": "POST", "body": json.dumps(ORDER)}),
        ]
        print("Timing bench: wrk, %d connections, %d s each, one run"
              % (CONNECTIONS, SECONDS))
        print("%-28s %9s %8s %8s %8s %8s %7s" % (
            "endpoint", "req/s", "p50 ms", "p90 ms", "p99 ms", "vs ceil",
            "non2xx"))
        ceiling = None
        for label, url, kw in runs:
            wrk(url, script, seconds=2, **kw)   # warm pools and workers
            r = wrk(url, script, **kw)
            ceiling = ceiling or r["rps"]
            print("%-28s %9.0f %8.2f %8.2f %8.2f %7.0f%% %7d" % (
                label, r["rps"], r["p50"], r["p90"], r["p99"],
                100 * r["rps"] / ceiling, r["non2xx"]))

        gaps = order_latency(stack, token)
        print("\nnewOrder on a staff socket after the POST's answer "
              "(%d orders, one at a time):" % len(gaps))
        print("  p50 %.2f ms   p99 %.2f ms   max %.2f ms" % (
            gaps[len(gaps) // 2], gaps[int(len(gaps) * .99)], gaps[-1]))

        daemon_kib, apache_kib = socket_memory(stack, token)
        print("\n/admin WebSocket memory, %d open sockets, handed off to "
              "timing-eventd (bench/fanout.py has both paths):" % SOCKETS)
        print("  timing-eventd  %6.1f KiB per socket" % daemon_kib)
        print("  Apache         %6.1f KiB per socket (no worker held)"
              % apache_kib)
    finally:
        stack.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
