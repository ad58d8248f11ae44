#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""fanout.py -- WebSocket fan-out through Apache, part of `make bench`.

For each N in BENCH_FANOUT (default "1000 10000"): a private stack with
Apache sized for N proxied sockets, N idle /admin sockets with a staff
token held by Node workers (bench/fanout-client.mjs, the ws package from
tests/node), then orders posted at 10 a second for BENCH_FANOUT_SECONDS.
This script starts the stack, the workers and the orders and prints the
figures; the sockets, their receiving and the timestamps are the workers'.
Prints, per N: handshake time (p50, p99), sockets connected and refused
(by status), latency from each POST's send to receipt on every socket
(p50, p99, max; one clock, CLOCK_MONOTONIC, on both sides) and per
order to its first and its last socket, messages
missing and duplicated, memory per idle socket for the daemon and for
Apache (RSS after minus before, over N), and the CPU each side used while
connecting and while the orders went out.  Figures, not asserts.

  BENCH_FANOUT="1000" BENCH_FANOUT_SECONDS=10 bench/fanout.py

BENCH_FANOUT_WORKERS     Node worker processes (default: one a core, more
                         so that none holds over 10,000 sockets)
BENCH_FANOUT_ADDRESSES   source addresses 127.0.0.1, .2, ... the sockets
                         are spread over (default: one per 20,000 sockets;
                         one address has about 28,000 ephemeral ports)
BENCH_FANOUT_CONCURRENCY handshakes in flight per worker (default 100)
"""

import json
import math
import os
import resource
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
from procstat import apache_pids, cpu_seconds, rss_kib  # noqa: E402
from conftest import free_port  # noqa: E402

CLIENT = os.path.join(HERE, "fanout-client.mjs")
WS_PACKAGE = os.path.join(CHECKOUT, "tests", "node", "node_modules", "ws")
SIZES = [int(n) for n in os.environ.get("BENCH_FANOUT",
                                        "1000 10000").split()]
SECONDS = int(os.environ.get("BENCH_FANOUT_SECONDS", "10"))
RATE = 10                       # orders a second
PER_WORKER_MAX = 10000          # sockets a worker holds at most
PER_ADDRESS = 20000             # sockets a source address carries
ORDER = json.dumps({"customer_info": {"name": "Fan-out"},
                    "items": [{"menu_id": 1, "quantity": 1}]}).encode()


def env_int(name, default):
    value = os.environ.get(name)
    return int(value) if value else default


def shares(n):
    """Sockets per worker: one worker a core, more if a share would need
    more descriptors than a process may have."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    per_max = PER_WORKER_MAX
    if hard != resource.RLIM_INFINITY:
        per_max = min(per_max, hard - 200)
    workers = env_int("BENCH_FANOUT_WORKERS",
                      max(os.cpu_count() or 1, math.ceil(n / per_max)))
    workers = max(1, min(workers, n))
    base, extra = divmod(n, workers)
    out = [base + (1 if i < extra else 0) for i in range(workers)]
    if max(out) > per_max:
        raise SystemExit("fanout: %d sockets in a worker is over the open-"
                         "file limit (%s); raise BENCH_FANOUT_WORKERS"
                         % (max(out), hard))
    return out


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Worker:
    """One Node process holding a share of the sockets."""

    def __init__(self, config):
        self.proc = subprocess.Popen(
            ["node", CLIENT], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            text=True, preexec_fn=raise_nofile)
        self.pid = self.proc.pid
        self.tell(config)

    def tell(self, obj):
        self.proc.stdin.write(json.dumps(obj) + "\n")
        self.proc.stdin.flush()

    def hear(self, kind):
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("fanout worker %d exited (%s) before '%s'"
                               % (self.pid, self.proc.wait(), kind))
        msg = json.loads(line)
        if msg.get("type") != kind:
            raise RuntimeError("fanout worker %d said %r, not '%s'"
                               % (self.pid, msg.get("type"), kind))
        return msg

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def post(stack, path, body, token=None):
    req = urllib.request.Request(stack.base_url + path, data=body,
                                 method="POST")
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    return json.loads(urllib.request.urlopen(req, timeout=30).read())


def merge(lists):
    out = []
    for values in lists:
        out += values
    out.sort()
    return out


def pct(values, q):
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(len(values) * q))]


def counted(tables):
    total = {}
    for table in tables:
        for key, value in table.items():
            total[key] = total.get(key, 0) + value
    return ", ".join("%s: %d" % kv for kv in sorted(total.items())) or "none"


def cpu_line(cpu, wall):
    return ", ".join("%s %.2f s (%.0f%%)" % (k, v, 100 * v / wall)
                     for k, v in cpu.items())


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
    workers = []
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard != resource.RLIM_INFINITY and n + 100 > hard:
        print("note: timing-eventd holds a descriptor per socket and may "
              "open %d (the hard limit); sockets past it are refused" % hard)
    try:
        stack.start()
        token = post(stack, "/api/auth/login", json.dumps({
            "email": stack.admin_email,
            "password": stack.admin_password}).encode())["data"]["token"]
        daemon = [stack.procs["eventd"].pid]
        mariadb = [stack.procs["mariadb"].pid]
        time.sleep(1)
        before = rss_kib(daemon), rss_kib(apache_pids(stack))

        addresses = ["127.0.0.%d" % (1 + i) for i in range(env_int(
            "BENCH_FANOUT_ADDRESSES", max(1, math.ceil(n / PER_ADDRESS))))]
        split = shares(n)
        config = {"url": "ws://127.0.0.1:%d/admin?token=%s"
                         % (stack.port, token),
                  "addresses": addresses,
                  "concurrency": env_int("BENCH_FANOUT_CONCURRENCY", 100),
                  "timeout_ms": 120000}

        def servers_cpu():
            return {"Apache": cpu_seconds(apache_pids(stack)),
                    "timing-eventd": cpu_seconds(daemon),
                    "MariaDB": cpu_seconds(mariadb)}

        def all_cpu():
            cpu = servers_cpu()
            cpu["generator"] = cpu_seconds([w.pid for w in workers])
            cpu["orchestrator"] = sum(os.times()[:2])
            return cpu

        def since(cpu0):
            return {k: v - cpu0[k] for k, v in all_cpu().items()}

        # Connect: each worker opens its share, in parallel.
        first = 0
        workers_cpu0 = servers_cpu()
        workers_cpu0["generator"] = 0.0
        workers_cpu0["orchestrator"] = sum(os.times()[:2])
        started = time.monotonic()
        for count in split:
            workers.append(Worker(dict(config, count=count, first=first)))
            first += count
        ready = [w.hear("ready") for w in workers]
        held = time.monotonic() - started
        connect_cpu = since(workers_cpu0)
        time.sleep(1)
        after = rss_kib(daemon), rss_kib(apache_pids(stack))
        gen_rss = sum(r["rss_kib"] for r in ready)
        connected = sum(r["connected"] for r in ready)

        # Orders: the send time of each POST, CLOCK_MONOTONIC in ms.
        cpu0 = all_cpu()
        each0 = [cpu_seconds([w.pid]) for w in workers]
        began = time.monotonic()
        orders, answer_ms = [], []
        for _ in range(SECONDS * RATE):
            sent = time.monotonic()
            order = post(stack, "/api/orders", ORDER)["data"]
            answered = time.monotonic()
            orders.append([order["id"], sent * 1000])
            answer_ms.append((answered - sent) * 1000)
            time.sleep(max(0, 1 / RATE - (time.monotonic() - sent)))
        for w in workers:
            w.tell({"type": "orders", "orders": orders})
        delivered = [w.hear("delivered") for w in workers]
        window = time.monotonic() - began
        cpu = since(cpu0)
        busiest = max(cpu_seconds([w.pid]) - c0
                      for w, c0 in zip(workers, each0))
        for w in workers:
            w.tell({"type": "report"})
        results = [w.hear("result") for w in workers]

        handshake = merge(r["handshake"] for r in ready)
        welcome = merge(r["welcome"] for r in ready)
        lat = merge(r["latency"] for r in results)
        answer_ms.sort()
        expected = connected * len(orders)
        print("\n%d sockets wanted, %d workers, source addresses %s; "
              "Apache %d processes x %d threads (MaxRequestWorkers %d)"
              % (n, len(workers), ", ".join(addresses), servers, threads,
                 servers * threads))
        print("  connected %d in %.1f s; refused by status: %s; "
              "failed: %s" % (connected, held,
                              counted(r["refused"] for r in ready),
                              counted(r["errors"] for r in ready)))
        print("  handshake (connect to 101)  p50 %.1f ms   p99 %.1f ms;  "
              "to first message p50 %.1f ms   p99 %.1f ms"
              % (pct(handshake, .5), pct(handshake, .99),
                 pct(welcome, .5), pct(welcome, .99)))
        print("  CPU while connecting (%.1f s): %s"
              % (held, cpu_line(connect_cpu, held)))
        print("  memory per idle socket: timing-eventd %.1f KiB, Apache "
              "%.1f KiB (the generator's workers: %.0f MiB in all)"
              % ((after[0] - before[0]) / max(connected, 1),
                 (after[1] - before[1]) / max(connected, 1),
                 gen_rss / 1024))
        print("  %d orders at %d/s; POST answered p50 %.1f ms   p99 %.1f ms"
              % (len(orders), RATE, pct(answer_ms, .5),
                 pct(answer_ms, .99)))
        print("  fan-out latency, POST sent to receipt: p50 %.1f ms   "
              "p99 %.1f ms   max %.1f ms"
              % (pct(lat, .5), pct(lat, .99), lat[-1] if lat else
                 float("nan")))
        print("  messages missing %d, duplicated %d (of %d); other "
              "orders' events %d; all delivered: %s"
              % (sum(r["missing"] for r in results),
                 sum(r["duplicated"] for r in results), expected,
                 sum(r["unknown"] for r in results),
                 "yes" if all(d["complete"] for d in delivered) else "no"))
        # Per order: when its first socket and its last socket had it.
        firsts, lasts = {}, {}
        for r in results:
            for oid, lo, hi in r["spread"]:
                firsts[oid] = min(lo, firsts.get(oid, lo))
                lasts[oid] = max(hi, lasts.get(oid, hi))
        firsts, lasts = sorted(firsts.values()), sorted(lasts.values())
        print("  per order, POST sent to its first socket p50 %.1f ms, to "
              "its last socket p50 %.1f ms   p99 %.1f ms"
              % (pct(firsts, .5), pct(lasts, .5), pct(lasts, .99)))
        closed = counted(r["closed_early"] for r in results)
        if closed != "none":
            print("  sockets closed by the server, by code: " + closed)
        print("  CPU from first POST to last delivery (%.1f s; %% of one "
              "core): %s" % (window, cpu_line(cpu, window)))
        server = sum(v for k, v in cpu.items()
                     if k not in ("generator", "orchestrator"))
        print("  generator CPU / server CPU: %.2f; busiest worker %.0f%% "
              "of its core" % (cpu["generator"] / server if server
                               else float("nan"), 100 * busiest / window))
    finally:
        for w in workers:
            w.stop()
        stack.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    if not os.path.isdir(WS_PACKAGE):
        raise SystemExit("fanout: no %s; run `make deps` (npm ci in "
                         "tests/node)" % WS_PACKAGE)
    print("Timing fan-out bench: /admin sockets through Apache held by "
          "Node workers, orders at %d/s for %d s" % (RATE, SECONDS))
    for size in SIZES:
        run_size(size)
