#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""fanout.py -- WebSocket fan-out on Timing's socket paths beside nginx +
nchan, part of `make bench`.

An accepted plaintext upgrade takes one of two paths: hand-off (the
default, `TimingWebSocketHandoff auto`: mod_timing passes the socket to
timing-eventd and no Apache worker holds it) or tunnel
(`TimingWebSocketHandoff off`, or TLS: mod_proxy_wstunnel holds one
Apache worker thread per socket).  For each size N in BENCH_FANOUT and
each path in BENCH_FANOUT_PATHS this starts a private stack
(scripts/stack.py), opens N idle /admin sockets with a staff token held by
Node workers (bench/fanout-client.mjs, the ws package from tests/node),
then posts orders at 10 a second for BENCH_FANOUT_SECONDS.  The sockets,
their receiving and the timestamps are the workers'; this script starts
the stack, the workers and the orders and prints the figures.

  nchan     the anchor: Debian's nginx with libnginx-mod-nchan (`make
            bench-deps`), on a private configuration in a temporary
            directory on a free port (NGINX_CONF: a publisher location
            /pub, `nchan_publisher http`, and a subscriber location /sub,
            `nchan_subscriber websocket` with `nchan_subscriber_first_
            message newest`, on one channel), worker_processes auto (one a
            core), worker_connections and worker_rlimit_nofile N + 1024.
            The same generator and load: N idle sockets on /sub, counted
            held once open (nchan sends nothing before an event; Timing's
            sockets are held once their `connection` message came), then
            10 messages a second POSTed to /pub, each
            {"type":"newOrder","order":{"id":K}} as the generator reads an
            order's event.  Memory: the RSS growth of nginx's master and
            workers together, as Apache's is counted; nchan keeps its
            channels and messages in shared memory, which is in a worker's
            RSS (RssShmem) only once that worker touched it, and counted in
            each worker that did: the run's line also gives the growth's
            anon, shmem and file parts and PSS (a shared page counted
            once).  Without nginx or the module these rows say "not
            installed: run `make bench-deps`" and the rest runs.
  nchan1    the same with worker_processes 1: timing-eventd fans out from
            one thread, so this is the like-for-like row on a machine of
            more than one core.
  hand-off  Apache with the development defaults of conf/httpd.conf.in
            (64 threads a process, MaxRequestWorkers 256): not sized for
            the sockets, which is the point; TimingMaxSockets N + 100
            (its default with the hand-off on is 10,000).
  tls       the stack over HTTPS (Stack(tls=True): mod_ssl with a
            self-signed certificate): the sockets are wss:// (the workers
            take the certificate unchecked) and take the tunnel; the
            orders are POSTed over https (urllib, an unverified context).
            Apache sized as for the tunnel, the hand-off left at auto.
  tunnel    Apache sized for N proxied sockets (every process started
            before the sockets, 250 threads each, MaxRequestWorkers past
            N), TimingWebSocketHandoff off, TimingMaxSockets (and
            TimingTunnelSockets) N + 100.

Timing's stacks lift the per-address order limit (TimingOrderRateLimit
0).  Printed per run: how long until all sockets were held and the
handshake time (p50, p99); sockets connected, refused (by status) and
failed, and the daemon's own count by path (stats endpoint; nchan's
nchan_stub_status for nginx); latency from each POST's
send to receipt on every socket (p50, p99, max; one clock,
CLOCK_MONOTONIC, on both sides) and per order to its first and its last
socket; messages missing and duplicated; memory per idle socket for
Apache and timing-eventd apart and their sum (RSS after minus before,
over the sockets connected; Apache's processes before and after are
printed too: on the hand-off path wrk first sends more requests at once
than MaxRequestWorkers, so every process, worker thread and database
connection is in use before the memory is read, and what Apache grows
by after is what the sockets keep, bar the few MiB the first handshakes
in each process touch once); the CPU each side used while connecting and
while the orders went out, and the generator's CPU over the servers'
(with "else on the machine": what other processes and interrupts took of
the cores meanwhile, next to nothing on a quiet machine).  On the paths
in BENCH_FANOUT_REST (default the hand-off's) REST is measured on the
same stack: wrk on `GET /api/orders/:id/status` (a real order, its
tracking token) at 32 connections, once before any socket is opened and
once while the N sockets are held (idle: no orders while wrk runs), and
the ratio of the two (the aim: within 10 %), each with the CPU every
part used meanwhile.  At the end one table has a row per (path, size).
Figures, not asserts.  On a machine that runs anything else the REST
ratio and the latencies are that machine's load as much as Timing's.

Then, unless BENCH_MAKE_RUN_SOCKETS is 0, the `make run` step: a stack
configured exactly as `make run` configures it (scripts/stack.py run: no
sizing defines, both loopback addresses) with that many idle /admin
sockets opened through the same Node workers; printed are the sockets
connected, refused and failed, and from the stats endpoint the sockets
by path: a tunnelled socket holds one of Apache's workers, a handed-off
one none (mod_status is not loaded).  Sockets past TimingMaxSockets (its
default: 10,000 with the hand-off on) are refused with 503.

  BENCH_FANOUT="1000" BENCH_FANOUT_SECONDS=10 bench/fanout.py
  BENCH_FANOUT="10000 max" BENCH_FANOUT_PATHS=handoff bench/fanout.py

BENCH_FANOUT             sizes (default "1000 10000"); the word `max` is as
                         many as the daemon's open-file hard limit allows,
                         less a margin of 500 (hand-off only: the tunnel
                         cannot hold that many threads on one box)
BENCH_FANOUT_PATHS       paths, of nchan nchan1 handoff tls tunnel (default
                         "nchan nchan1 handoff tls")
BENCH_FANOUT_SECONDS     seconds of orders per run (default 10)
BENCH_FANOUT_REST        paths with the REST figures (default "handoff";
                         "" for none; Timing's paths only)
BENCH_FANOUT_REST_SECONDS  seconds of each wrk run (default 5, after 1 s
                         of warm-up)
BENCH_MAKE_RUN_SOCKETS   sockets of the `make run` step (default 2000;
                         0 skips it)
BENCH_FANOUT_WORKERS     Node worker processes (default: one a core, more
                         so that none holds over 10,000 sockets)
BENCH_FANOUT_ADDRESSES   source addresses per run (default: one per 5,000
                         sockets).  Each run binds its sockets to addresses
                         of its own, 127.0.0.2 to .254 in turn, so the
                         ports an earlier run left in TIME_WAIT are on
                         other addresses
BENCH_FANOUT_CONCURRENCY handshakes in flight per worker (default 100)
"""

import json
import math
import os
import re
import resource
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
CHECKOUT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(CHECKOUT, "scripts"))
sys.path.insert(0, os.path.join(CHECKOUT, "tests", "integration"))

import stack as stackmod  # noqa: E402
from procstat import (apache_pids, box_busy_seconds, cpu_seconds,  # noqa
                      group_pids, memory_kib)
from run import WRK_LUA, wrk_figures  # noqa: E402
from conftest import free_port  # noqa: E402

CLIENT = os.path.join(HERE, "fanout-client.mjs")
WS_PACKAGE = os.path.join(CHECKOUT, "tests", "node", "node_modules", "ws")
PATHS = ("nchan", "nchan1", "handoff", "tls", "tunnel")
DEFAULT_PATHS = "nchan nchan1 handoff tls"
SECONDS = int(os.environ.get("BENCH_FANOUT_SECONDS", "10"))
RATE = 10                       # orders a second
PER_WORKER_MAX = 10000          # sockets a worker holds at most
PER_ADDRESS = 5000              # sockets a source address carries
MAX_MARGIN = 500                # `max`: descriptors left to the daemon
REST_CONNECTIONS = 32
ORDER = json.dumps({"customer_info": {"name": "Fan-out"},
                    "items": [{"menu_id": 1, "quantity": 1}]}).encode()


def env_int(name, default):
    value = os.environ.get(name)
    return int(value) if value else default


def env_words(name, default, allowed=None):
    out = os.environ.get(name, default).split()
    for w in out:
        if allowed is not None and w not in allowed:
            raise SystemExit("fanout: %s: '%s' is none of %s"
                             % (name, w, ", ".join(allowed)))
    return out


def hard_nofile():
    return resource.getrlimit(resource.RLIMIT_NOFILE)[1]


def sizes():
    """(label, sockets) for each word of BENCH_FANOUT."""
    out = []
    for word in env_words("BENCH_FANOUT", "1000 10000"):
        if word == "max":
            hard = hard_nofile()
            if hard == resource.RLIM_INFINITY or hard - MAX_MARGIN < 1:
                raise SystemExit("fanout: `max` needs a finite open-file "
                                 "hard limit above %d (ulimit -Hn: %s); "
                                 "give a number" % (MAX_MARGIN, hard))
            out.append(("max", hard - MAX_MARGIN))
        elif word.isdigit() and int(word) > 0:
            out.append((word, int(word)))
        else:
            raise SystemExit("fanout: BENCH_FANOUT: '%s' is neither a "
                             "number of sockets nor `max`" % word)
    return out


def shares(n):
    """Sockets per worker: one worker a core, more if a share would need
    more descriptors than a process may have."""
    hard = hard_nofile()
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


class Addresses:
    """Source addresses 127.0.0.2 to .254, handed out in turn: a run binds
    its sockets to addresses no run before it used lately, so the ports in
    TIME_WAIT from the last run (its sockets' ends here, closed first)
    leave this one's free.  One address carries PER_ADDRESS sockets, well
    inside its ephemeral ports (ip_local_port_range)."""

    FIRST, LAST = 2, 254

    def __init__(self):
        self.next = self.FIRST
        try:
            with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
                lo, hi = (int(x) for x in f.read().split())
            self.per_address = max(1, min(PER_ADDRESS, (hi - lo + 1) // 3))
        except (OSError, ValueError):
            self.per_address = PER_ADDRESS

    def take(self, n):
        count = env_int("BENCH_FANOUT_ADDRESSES",
                        max(1, math.ceil(n / self.per_address)))
        count = min(count, self.LAST - self.FIRST + 1)
        if self.next + count - 1 > self.LAST:
            self.next = self.FIRST
        out = ["127.0.0.%d" % (self.next + i) for i in range(count)]
        self.next += count
        return out


ADDRESSES = Addresses()


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


def admin_url(stack, token):
    return "%s://127.0.0.1:%d/admin?token=%s" % (stack.ws_scheme,
                                                 stack.port, token)


def open_sockets(url, n, **extra):
    """Starts the workers that open n sockets on url, each worker its
    share, in parallel; returns the workers, their 'ready' reports, the
    seconds until all sockets were held and the source addresses.  extra
    goes to the workers as is (welcome, insecure)."""
    addresses = ADDRESSES.take(n)
    config = dict({"url": url, "addresses": addresses,
                   "concurrency": env_int("BENCH_FANOUT_CONCURRENCY", 100),
                   "timeout_ms": 120000}, **extra)
    workers, first = [], 0
    started = time.monotonic()
    try:
        for count in shares(n):
            workers.append(Worker(dict(config, count=count, first=first)))
            first += count
        ready = [w.hear("ready") for w in workers]
    except BaseException:
        for w in workers:
            w.stop()
        raise
    return workers, ready, time.monotonic() - started, addresses


# The TLS stack's certificate is its own, self-signed: taken unchecked,
# as the generator takes it (rejectUnauthorized: false).
UNVERIFIED = ssl.create_default_context()
UNVERIFIED.check_hostname = False
UNVERIFIED.verify_mode = ssl.CERT_NONE


def urlopen(req):
    https = req.full_url.startswith("https:")
    return urllib.request.urlopen(req, timeout=30,
                                  context=UNVERIFIED if https else None)


def request(stack, method, path, body=None, token=None):
    req = urllib.request.Request(stack.base_url + path, data=body,
                                 method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    return json.loads(urlopen(req).read())


def post(stack, path, body, token=None):
    return request(stack, "POST", path, body, token)


def login(stack):
    return post(stack, "/api/auth/login", json.dumps({
        "email": stack.admin_email,
        "password": stack.admin_password}).encode())["data"]["token"]


def ws_stats(stack, token):
    return request(stack, "GET", "/api/admin/websocket/stats",
                   token=token)["data"]


def start_stack(tag, tries=3, **kw):
    """A started Stack in a temporary directory, and the directory.  A
    start that fails (a port another run took after free_port chose it)
    is tried again on another port."""
    for attempt in range(1, tries + 1):
        tmp = tempfile.mkdtemp(prefix="timing-%s-" % tag, dir="/tmp")
        os.chmod(tmp, 0o711)
        stack = stackmod.Stack(os.path.join(tmp, "state"),
                               os.path.join(tmp, "run"), free_port(), **kw)
        try:
            stack.start()
            return stack, tmp
        except stackmod.StackError as e:
            shutil.rmtree(tmp, ignore_errors=True)
            if attempt == tries:
                raise
            print("  (the stack did not start: %s; again on another port)"
                  % str(e).splitlines()[0])


def wrk(url, script, connections, seconds):
    """wrk's figures (bench/run.py's script): p50 and p99 in ms,
    requests/s, answers other than 2xx and socket errors."""
    res = subprocess.run(["wrk", "-t", "2", "-c", str(connections), "-d",
                          "%ds" % seconds, "-s", script, url],
                         capture_output=True, text=True,
                         env=dict(os.environ, BENCH_METHOD="GET",
                                  BENCH_BODY="", BENCH_AUTH=""))
    figures = wrk_figures(res.stdout)
    if res.returncode != 0 or not figures:
        raise RuntimeError("wrk failed (%d): %s" % (res.returncode,
                                                   res.stderr.strip()))
    return figures


def cpu_since(cpu0, cpu1):
    """Each part's CPU between two cpu_now()s, and what the machine's
    cores did besides (other processes, interrupts): on a quiet machine
    next to nothing."""
    out = {k: v - cpu0.get(k, 0.0) for k, v in cpu1.items() if k != "box"}
    out["else"] = max(0.0, cpu1["box"] - cpu0["box"] - sum(out.values()))
    return out


def rest(url, script, seconds, cpu):
    """wrk at REST_CONNECTIONS after a second of warm-up; with the CPU
    each part used meanwhile (cpu: a cpu_now())."""
    wrk(url, script, REST_CONNECTIONS, 1)       # warm pools and workers
    cpu0, t0 = cpu(), time.monotonic()
    out = wrk(url, script, REST_CONNECTIONS, seconds)
    out["cpu"] = cpu_since(cpu0, cpu())
    out["wall"] = time.monotonic() - t0
    return out


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
    return total


def words(total):
    return ", ".join("%s: %d" % kv for kv in sorted(total.items())) or "none"


def cpu_line(cpu, wall):
    """Each part's CPU, in seconds and in % of one core; "else" is the
    rest of the machine (other processes, interrupts)."""
    return ", ".join("%s %.2f s (%.0f%%)" % (
        "else on the machine" if k == "else" else k, v, 100 * v / wall)
        for k, v in cpu.items())


def ratio(a, b):
    return a / b if b else float("nan")


def held_words(stats):
    """The stats endpoint's sockets by path, and its refusals."""
    return ("hand-off %d, tunnel %d (refused: full %d, share %d; hand-offs "
            "too late for the daemon, left to Apache: %s)"
            % (stats["sockets"]["handoff"], stats["sockets"]["tunnel"],
               stats["refused_full"], stats["refused_share"],
               stats.get("late_handoffs", "-")))


def machine_cpu(workers):
    """CPU seconds so far of what is not a server: the generator, this
    script, wrk (children that have exited), and the whole machine."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"generator": cpu_seconds([w.pid for w in workers]),
            "orchestrator": sum(os.times()[:2]),
            # Children that have exited: wrk (and pgrep, a trifle).
            "wrk": children.ru_utime + children.ru_stime,
            "box": box_busy_seconds()}


class TimingTarget:
    """A Timing stack (scripts/stack.py) whose /admin sockets take one
    path: handoff, tunnel (the hand-off off) or tls (HTTPS: wss://
    upgrades are tunnelled)."""

    parts = ("Apache", "timing-eventd", "MariaDB")
    rest_ok = True

    def __init__(self, path, n):
        self.path, self.stack, self.tmp = path, None, None
        self.defines = {"TIMING_MAX_SOCKETS": str(n + 100),
                        "TIMING_ORDER_RATE_LIMIT": "0"}
        if path in ("tunnel", "tls"):
            threads = 250
            servers = n // threads + 3
            self.defines.update({
                # All of Apache's processes from the start, so the memory
                # figure is the sockets' and not the cost of starting
                # processes.
                "TIMING_SERVER_LIMIT": str(servers),
                "TIMING_START_SERVERS": str(servers),
                "TIMING_THREADS_PER_CHILD": str(threads),
                "TIMING_MAX_WORKERS": str(servers * threads),
                # The cap on tunnelled sockets, said outright (with the
                # hand-off off it follows TimingMaxSockets).
                "TIMING_TUNNEL_SOCKETS": str(n + 100),
                # Many processes: few database connections each.
                "TIMING_DBD_MAX": "6"})
            if path == "tunnel":
                self.defines["TIMING_WEBSOCKET_HANDOFF"] = "off"
            self.sizing = ("Apache %d processes x %d threads "
                           "(MaxRequestWorkers %d)"
                           % (servers, threads, servers * threads))
            if path == "tls":
                self.sizing += ("; HTTPS (mod_ssl, self-signed), wss:// "
                                "through mod_proxy_wstunnel")
        else:
            self.sizing = ("Apache with the development defaults "
                           "(MaxRequestWorkers %s)"
                           % template_default("TIMING_MAX_WORKERS"))
        self.client = {"insecure": True} if path == "tls" else {}

    def start(self):
        self.stack, self.tmp = start_stack("fanout", defines=self.defines,
                                           tls=self.path == "tls")
        self.token = login(self.stack)
        self.url = admin_url(self.stack, self.token)

    def stop(self):
        if self.stack:
            self.stack.stop()
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def memory(self):
        """Each server part's memory (procstat.memory_kib) and pids."""
        apache = apache_pids(self.stack)
        daemon = [self.stack.procs["eventd"].pid]
        return {"Apache": (memory_kib(apache), apache),
                "timing-eventd": (memory_kib(daemon), daemon)}

    def cpu(self, workers):
        """CPU seconds so far of each part, and of the whole machine."""
        out = {"Apache": cpu_seconds(apache_pids(self.stack)),
               "timing-eventd": cpu_seconds([self.stack.procs["eventd"]
                                             .pid]),
               "MariaDB": cpu_seconds([self.stack.procs["mariadb"].pid])}
        out.update(machine_cpu(workers))
        return out

    def publish(self):
        """One order; its id."""
        return post(self.stack, "/api/orders", ORDER)["data"]["id"]

    def holds(self):
        return "the daemon holds: " + held_words(ws_stats(self.stack,
                                                          self.token))


# What nchan's subscribers are sent: the `newOrder` a Timing staff socket
# gets for ORDER, field for field (383 bytes with a one-digit id), so the
# generator parses and the kernels copy the same load on both servers.
NCHAN_NEW_ORDER = {
    "type": "newOrder",
    "order": {"id": 0, "pickup_number": 1, "version": 1,
              "status": "pending",
              "customer_info": {"name": "Fan-out", "phone": None,
                                "email": None},
              "items": [{"id": 1, "menu_id": 1, "menu_name": "Pad Thai",
                         "price": 60, "quantity": 1, "note": None,
                         "subtotal": 60}],
              "total": 60, "currency": "THB", "note": None,
              "created_at": "2026-12-07T05:15:49.889Z",
              "updated_at": "2026-12-07T05:15:49.889Z"},
    "event_id": 0}


def nchan_new_order(oid):
    msg = dict(NCHAN_NEW_ORDER, event_id=oid)
    msg["order"] = dict(NCHAN_NEW_ORDER["order"], id=oid, pickup_number=oid)
    return json.dumps(msg, separators=(",", ":")).encode()


NCHAN_PATHS = ("nchan", "nchan1")
NCHAN_MODULE_DIRS = ("/usr/lib/nginx/modules", "/usr/share/nginx/modules")
NGINX_CONF = """\
# The fan-out bench's nginx (bench/fanout.py): one nchan channel, a
# publisher and a WebSocket subscriber location.
load_module %(module)s;
daemon off;
worker_processes %(workers)s;
worker_rlimit_nofile %(nofile)d;
pid %(tmp)s/nginx.pid;
error_log %(tmp)s/error.log warn;
events {
    worker_connections %(nofile)d;
}
http {
    access_log off;
    client_body_temp_path %(tmp)s/client_body;
    proxy_temp_path %(tmp)s/proxy;
    fastcgi_temp_path %(tmp)s/fastcgi;
    uwsgi_temp_path %(tmp)s/uwsgi;
    scgi_temp_path %(tmp)s/scgi;
    server {
        listen 127.0.0.1:%(port)d;
        location = /pub {
            nchan_publisher http;
            nchan_channel_id orders;
        }
        location = /sub {
            nchan_subscriber websocket;
            nchan_channel_id orders;
            nchan_subscriber_first_message newest;
        }
        location = /nchan_status {
            nchan_stub_status;
        }
    }
}
"""


def nchan_module():
    """Debian's ngx_nchan_module.so (libnginx-mod-nchan), or None."""
    for d in NCHAN_MODULE_DIRS:
        so = os.path.join(d, "ngx_nchan_module.so")
        if os.path.exists(so):
            return so
    return None


def nginx_program():
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx",) if os.path.exists(p)), None)


class NchanTarget:
    """nginx with nchan on a private configuration (NGINX_CONF) in a
    temporary directory, on a free port: the anchor.  nchan: worker_
    processes auto (one a core); nchan1: one worker, as timing-eventd is
    one thread."""

    parts = ("nginx",)
    rest_ok = False
    client = {"welcome": False}

    def __init__(self, path, n):
        self.workers = "1" if path == "nchan1" else "auto"
        self.nofile = n + 1024
        hard = hard_nofile()
        if (os.geteuid() != 0 and hard != resource.RLIM_INFINITY
                and hard < self.nofile):
            self.nofile = hard
        self.proc, self.tmp, self.next_id = None, None, 0
        self.sizing = ("nginx %s, %s (%s), worker_processes %s, "
                       "worker_connections and worker_rlimit_nofile %d"
                       % (nginx_version(), nchan_version(), nchan_module(),
                          self.workers, self.nofile))

    def start(self, tries=3):
        for attempt in range(1, tries + 1):
            self.tmp = tempfile.mkdtemp(prefix="timing-nchan-", dir="/tmp")
            os.chmod(self.tmp, 0o711)
            self.port = free_port()
            conf = os.path.join(self.tmp, "nginx.conf")
            with open(conf, "w") as f:
                f.write(NGINX_CONF % {
                    "module": nchan_module(), "workers": self.workers,
                    "nofile": self.nofile, "tmp": self.tmp,
                    "port": self.port})
            self.log = os.path.join(self.tmp, "error.log")
            with open(os.path.join(self.tmp, "stderr.log"), "ab") as out:
                self.proc = subprocess.Popen(
                    [nginx_program(), "-p", self.tmp + "/", "-c", conf,
                     "-e", self.log], stdin=subprocess.DEVNULL, stdout=out,
                    stderr=out, start_new_session=True)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    self.status()
                    self.url = "ws://127.0.0.1:%d/sub" % self.port
                    return
                except OSError:
                    time.sleep(0.05)
            why = self.tail()
            self.stop()
            if attempt == tries:
                raise RuntimeError("nginx did not start: " + why)
            print("  (nginx did not start: %s; again on another port)"
                  % why)

    def tail(self):
        for name in ("error.log", "stderr.log"):
            try:
                with open(os.path.join(self.tmp, name)) as f:
                    lines = f.read().strip().splitlines()
                if lines:
                    return lines[-1]
            except OSError:
                pass
        return "no answer"

    def stop(self):
        if self.proc and self.proc.poll() is None:
            # A fast stop (SIGTERM): the sockets are the generator's to
            # lose, and a graceful one would wait for them.
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                for pid in group_pids(self.proc.pid):
                    os.kill(pid, signal.SIGKILL)
                self.proc.wait()
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def status(self):
        """nchan_stub_status: its lines as a dict of text."""
        url = "http://127.0.0.1:%d/nchan_status" % self.port
        text = urllib.request.urlopen(url, timeout=5).read().decode()
        return dict(line.split(": ", 1) for line in text.splitlines()
                    if ": " in line)

    def pids(self):
        return group_pids(self.proc.pid)

    def memory(self):
        pids = self.pids()
        return {"nginx": (memory_kib(pids), pids)}

    def cpu(self, workers):
        out = {"nginx": cpu_seconds(self.pids())}
        out.update(machine_cpu(workers))
        return out

    def publish(self):
        """One message with the shape and size of the `newOrder` Timing
        sends for ORDER (NCHAN_NEW_ORDER); its id."""
        self.next_id += 1
        body = nchan_new_order(self.next_id)
        req = urllib.request.Request(
            "http://127.0.0.1:%d/pub" % self.port, data=body,
            method="POST", headers={"Content-Type": "application/json"})
        urlopen(req).read()
        return self.next_id

    def holds(self):
        st = self.status()
        return ("nchan holds: subscribers %s, channels %s; shared memory "
                "used %s of %s" % (
                    st.get("subscribers"), st.get("channels"),
                    st.get("shared memory used"),
                    st.get("shared memory limit")))


def nginx_version():
    res = subprocess.run([nginx_program(), "-v"], capture_output=True,
                         text=True)
    m = re.search(r"nginx/(\S+)", res.stderr + res.stdout)
    return m.group(1) if m else "?"


def nchan_version():
    res = subprocess.run(["dpkg-query", "-W", "-f=${Version}",
                          "libnginx-mod-nchan"], capture_output=True,
                         text=True)
    return ("libnginx-mod-nchan " + res.stdout.strip()
            if res.returncode == 0 and res.stdout.strip() else "nchan")


def nchan_missing():
    """Why the nchan rows cannot run, or None."""
    if not nginx_program() or not nchan_module():
        return "not installed: run `make bench-deps`"
    return None


def server_sum(cpu, parts):
    return sum(cpu[k] for k in parts)


def memory_words(kib, mem0, mem1, connected):
    """The memory line's text: per idle socket, each part and the sum."""
    per = max(connected, 1)
    if "nginx" in kib:
        grow = {k: (mem1["nginx"][0][k] - mem0["nginx"][0][k]) / per
                for k in mem1["nginx"][0]}
        return ("nginx %.1f KiB (RSS of its master and workers, %d "
                "processes: anon %.1f, shared memory touched %.1f, file "
                "%.1f; PSS, a shared page once, %.1f)"
                % (grow["rss"], len(mem1["nginx"][1]), grow["anon"],
                   grow["shmem"], grow["file"], grow["pss"]))
    return ("Apache %.1f KiB + timing-eventd %.1f KiB = %.1f KiB "
            "(Apache's processes %d before, %d after)"
            % (kib["Apache"], kib["timing-eventd"], kib["sum"],
               len(mem0["Apache"][1]), len(mem1["Apache"][1])))


def run_one(path, label, n, rest_paths):
    """One server, one path, n sockets; prints the run's figures and
    returns its row of the summary."""
    nchan = path in NCHAN_PATHS
    target = (NchanTarget if nchan else TimingTarget)(path, n)
    print("\n== %s, %d sockets%s; %s" % (
        path, n, " (max: the open-file hard limit %d less %d)"
        % (hard_nofile(), MAX_MARGIN) if label == "max" else "",
        target.sizing))
    hard = hard_nofile()
    if not nchan and hard != resource.RLIM_INFINITY and n + 100 > hard:
        print("  note: timing-eventd holds a descriptor per socket and may "
              "open %d (the hard limit); sockets past it are refused" % hard)
    row = {"path": path, "n": n}
    workers = []
    try:
        target.start()
        idle_rest = held_rest = status_url = script = None
        rest_seconds = env_int("BENCH_FANOUT_REST_SECONDS", 5)
        if target.rest_ok:
            stack = target.stack
            # REST before any socket: a real order's status, as a
            # customer's tracking page asks for it.
            script = os.path.join(target.tmp, "bench.lua")
            with open(script, "w") as f:
                f.write(WRK_LUA)
            order = post(stack, "/api/orders", ORDER)["data"]
            status_url = "%s/api/orders/%d/status?tracking_token=%s" % (
                stack.base_url, order["id"], order["tracking_token"])
            if path == "handoff":
                # Every worker thread serves a request, every process
                # starts and every database connection opens before the
                # memory is read (more requests in flight than
                # MaxRequestWorkers), so Apache's figure is what idle
                # sockets keep and not the first use of the threads a
                # burst of handshakes reaches; and the REST figures before
                # and while the sockets are held are of the same warm
                # server.
                wrk(status_url, script,
                    int(template_default("TIMING_MAX_WORKERS")) + 32, 3)

        def cpu():
            return target.cpu(workers)

        if target.rest_ok and path in rest_paths:
            idle_rest = rest(status_url, script, rest_seconds, cpu)

        time.sleep(1)
        mem0 = target.memory()
        warm_once = None
        if path == "handoff":
            # Apache's first upgrade on each worker thread and database
            # connection touches memory it keeps whatever the sockets (a
            # deeper stack, the guard's statements prepared): a burst of
            # as many upgrades as it has workers, closed again, comes
            # before Apache's reading, and what it took is printed apart.
            # timing-eventd's reading stays the one before the burst: the
            # memory the burst's sessions freed is reused by the sockets
            # measured, so its figure is theirs in full.
            warm = min(n, int(template_default("TIMING_MAX_WORKERS")) + 32)
            burst, _, _, _ = open_sockets(target.url, warm,
                                          concurrency=warm, **target.client)
            for w in burst:
                w.stop()
            time.sleep(1)
            after = target.memory()
            warm_once = (after["Apache"][0]["rss"]
                         - mem0["Apache"][0]["rss"]) / 1024
            mem0["Apache"] = after["Apache"]

        # Connect: each worker opens its share, in parallel (the
        # generator's CPU from 0: its processes start here).
        connect_cpu0 = cpu()
        workers, ready, held, addresses = open_sockets(target.url, n,
                                                       **target.client)
        connect_cpu = cpu_since(connect_cpu0, cpu())
        time.sleep(1)
        mem1 = target.memory()
        gen_rss = sum(r["rss_kib"] for r in ready)
        connected = sum(r["connected"] for r in ready)
        refused = counted(r["refused"] for r in ready)
        failed = counted(r["errors"] for r in ready)
        holds = target.holds()

        if target.rest_ok and path in rest_paths:
            held_rest = rest(status_url, script, rest_seconds, cpu)

        # Orders: the send time of each POST, CLOCK_MONOTONIC in ms.
        cpu0 = cpu()
        each0 = [cpu_seconds([w.pid]) for w in workers]
        began = time.monotonic()
        orders, answer_ms = [], []
        for _ in range(SECONDS * RATE):
            sent = time.monotonic()
            oid = target.publish()
            answered = time.monotonic()
            orders.append([oid, sent * 1000])
            answer_ms.append((answered - sent) * 1000)
            time.sleep(max(0, 1 / RATE - (time.monotonic() - sent)))
        for w in workers:
            w.tell({"type": "orders", "orders": orders})
        delivered = [w.hear("delivered") for w in workers]
        window = time.monotonic() - began
        fan_cpu = cpu_since(cpu0, cpu())
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
        missing = sum(r["missing"] for r in results)
        # What came besides newOrder after the welcome: a `resync` means
        # the daemon could not vouch for an event (a datagram it lost).
        others = counted(r["other"] for r in results)
        resyncs = others.get("resync", 0)
        duplicated = sum(r["duplicated"] for r in results)
        per = max(connected, 1)
        kib = {part: (mem1[part][0]["rss"] - mem0[part][0]["rss"]) / per
               for part in mem1}
        kib["sum"] = sum(kib.values())

        print("  %d workers, source addresses %s" % (
            len(workers), addresses[0] if len(addresses) == 1 else
            "%s to %s" % (addresses[0], addresses[-1])))
        print("  connected %d in %.1f s; refused by status: %s; "
              "failed: %s" % (connected, held, words(refused),
                              words(failed)))
        print("  " + holds)
        if nchan:
            print("  handshake (connect to 101)  p50 %.1f ms   p99 %.1f ms "
                  "(held once open: nchan sends nothing before an event)"
                  % (pct(handshake, .5), pct(handshake, .99)))
        else:
            print("  handshake (connect to 101)  p50 %.1f ms   p99 %.1f ms;"
                  "  to first message p50 %.1f ms   p99 %.1f ms"
                  % (pct(handshake, .5), pct(handshake, .99),
                     pct(welcome, .5), pct(welcome, .99)))
        print("  CPU while connecting (%.1f s): %s"
              % (held, cpu_line(connect_cpu, held)))
        print("  memory per idle socket: %s; the generator's workers: "
              "%.0f MiB in all" % (memory_words(kib, mem0, mem1, connected),
                                   gen_rss / 1024))
        if warm_once is not None:
            print("  Apache's first upgrades on its threads, before that "
                  "reading: %.1f MiB once" % warm_once)
        if idle_rest:
            print("  GET /api/orders/:id/status, wrk %d connections %d s:"
                  % (REST_CONNECTIONS, rest_seconds))
            for what, r in (("no sockets", idle_rest),
                            ("%d sockets held" % connected, held_rest)):
                print("    %-18s %8.0f req/s   p50 %.2f ms   p99 %.2f ms   "
                      "non-2xx %d" % (what, r["rps"], r["p50"], r["p99"],
                                      r["non2xx"]))
                print("      CPU meanwhile: " + cpu_line(r["cpu"],
                                                         r["wall"]))
            print("    held / none: %.0f%% of the requests/s"
                  % (100 * ratio(held_rest["rps"], idle_rest["rps"])))
        print("  %d %s at %d/s; POST answered p50 %.1f ms   p99 %.1f ms"
              % (len(orders), "messages to nchan's publisher" if nchan
                 else "orders", RATE, pct(answer_ms, .5),
                 pct(answer_ms, .99)))
        print("  fan-out latency, POST sent to receipt: p50 %.1f ms   "
              "p99 %.1f ms   max %.1f ms"
              % (pct(lat, .5), pct(lat, .99), lat[-1] if lat else
                 float("nan")))
        print("  messages missing %d, duplicated %d (of %d); other "
              "orders' events %d; all delivered: %s"
              % (missing, duplicated, expected,
                 sum(r["unknown"] for r in results),
                 "yes" if all(d["complete"] for d in delivered) else "no"))
        print("  other messages, by type: %s" % words(others))
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
        closed = words(counted(r["closed_early"] for r in results))
        if closed != "none":
            print("  sockets closed by the server, by code: " + closed)
        print("  CPU from first POST to last delivery (%.1f s; %% of one "
              "core): %s" % (window, cpu_line(fan_cpu, window)))
        server = server_sum(fan_cpu, target.parts)
        print("  generator CPU / server CPU: %.2f; busiest worker %.0f%% "
              "of its core" % (ratio(fan_cpu["generator"], server),
                               100 * busiest / window))
        row.update({
            "connected": connected,
            "refused": sum(refused.values()) + sum(failed.values()),
            "held": held, "hs50": pct(handshake, .5),
            "hs99": pct(handshake, .99), "lat50": pct(lat, .5),
            "lat99": pct(lat, .99),
            "latmax": lat[-1] if lat else float("nan"),
            "missing": missing, "duplicated": duplicated,
            # nchan has no `resync`: its column says "-", not 0.
            "resyncs": None if nchan else resyncs,
            "kib_apache": kib.get("Apache"),
            "kib_eventd": kib.get("timing-eventd"),
            "kib_sum": kib["sum"], "cpu_server": server,
            "cpu_gen": fan_cpu["generator"],
            "rest_idle": idle_rest, "rest_held": held_rest,
            # The most of a core the rest of the machine took in any
            # window measured (of a second or more: CPU time is counted
            # in ticks): a quiet machine's is near 0.
            "else": max([100 * c["else"] / wall for c, wall in
                         [(connect_cpu, held), (fan_cpu, window)]
                         + [(r["cpu"], r["wall"])
                            for r in (idle_rest, held_rest) if r]
                         if wall >= 1] or [float("nan")])})
        return row
    finally:
        for w in workers:
            w.stop()
        target.stop()


def template_default(name):
    """The default conf/httpd.conf.in gives a define when none is set."""
    with open(os.path.join(CHECKOUT, "conf", "httpd.conf.in")) as f:
        m = re.search(r"<IfDefine !%s>\s*Define %s (\S+)" % (name, name),
                      f.read())
    return m.group(1) if m else "?"


def make_run_step(n):
    """`make run`'s stack (scripts/stack.py run: the same Stack arguments
    but for the console and where its state lives) holding n idle /admin
    sockets."""
    hosts = (("127.0.0.1", "::1") if stackmod.ipv6_loopback_usable()
             else ("127.0.0.1",))
    print("\n== `make run`'s configuration holding %d idle /admin sockets "
          "(no sizing defines: MaxRequestWorkers %s, TimingMaxSockets and "
          "the path at their defaults)"
          % (n, template_default("TIMING_MAX_WORKERS")))
    workers = []
    stack, tmp = start_stack("makerun", listen_hosts=hosts)
    try:
        token = login(stack)
        workers, ready, held, addresses = open_sockets(
            admin_url(stack, token), n)
        time.sleep(1)
        stats = ws_stats(stack, token)
        t0 = time.monotonic()
        request(stack, "GET", "/api/health")
        health_ms = (time.monotonic() - t0) * 1000
        connected = sum(r["connected"] for r in ready)
        refused = counted(r["refused"] for r in ready)
        failed = counted(r["errors"] for r in ready)
        socks = stats["sockets"]
        print("  connected %d of %d in %.1f s; refused by status: %s; "
              "failed: %s" % (connected, n, held, words(refused),
                              words(failed)))
        print("  the daemon holds: " + held_words(stats))
        print("  Apache workers the sockets hold: %d of %s (a tunnelled "
              "socket holds one, a handed-off one none); GET /api/health "
              "meanwhile %.1f ms" % (socks["tunnel"],
                                     template_default("TIMING_MAX_WORKERS"),
                                     health_ms))
        return {"n": n, "connected": connected,
                "refused": sum(refused.values()),
                "failed": sum(failed.values()),
                "handoff": socks["handoff"], "tunnel": socks["tunnel"]}
    finally:
        for w in workers:
            w.stop()
        stack.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def fmt(value, spec):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return spec % value


def summary(rows, make_run):
    cols = [("path", "%-8s", "path"), ("sockets", "%7s", "n"),
            ("held", "%7s", "connected"), ("lost", "%5s", "refused"),
            ("in s", "%6s", "held"), ("hs p50", "%7s", "hs50"),
            ("hs p99", "%7s", "hs99"), ("fan p50", "%8s", "lat50"),
            ("fan p99", "%8s", "lat99"), ("fan max", "%8s", "latmax"),
            ("miss", "%5s", "missing"), ("dup", "%4s", "duplicated"),
            ("resync", "%6s", "resyncs"),
            ("KiB Ap", "%7s", "kib_apache"), ("KiB ev", "%7s", "kib_eventd"),
            ("KiB sum", "%7s", "kib_sum"), ("CPU srv", "%8s", "cpu_server"),
            ("CPU gen", "%8s", "cpu_gen"), ("gen/srv", "%7s", "genratio"),
            ("REST idle", "%9s", "rest0"), ("REST held", "%9s", "rest1"),
            ("held/idle", "%9s", "restratio"), ("else", "%5s", "else")]
    specs = {"connected": "%d", "refused": "%d", "held": "%.1f",
             "hs50": "%.1f", "hs99": "%.1f", "lat50": "%.1f",
             "lat99": "%.1f", "latmax": "%.1f", "missing": "%d",
             "resyncs": "%d",
             "duplicated": "%d", "kib_apache": "%.1f", "kib_eventd": "%.1f",
             "kib_sum": "%.1f", "cpu_server": "%.2f", "cpu_gen": "%.2f",
             "genratio": "%.2f", "rest0": "%.0f", "rest1": "%.0f",
             "restratio": "%.0f%%", "else": "%.0f%%", "path": "%s",
             "n": "%d"}
    print("\n== Summary (ms for times; KiB per idle socket: Apache, "
          "timing-eventd, both, and for nchan nginx's in the sum; CPU s "
          "from first POST to last delivery, servers and generator; REST: "
          "GET /api/orders/:id/status req/s at %d connections, no sockets "
          "and all held)" % REST_CONNECTIONS)
    print(" ".join(w % h for h, w, _ in cols))
    for row in rows:
        r = dict(row)
        if "connected" in r:
            r["genratio"] = ratio(r["cpu_gen"], r["cpu_server"])
            if r["rest_idle"]:
                r["rest0"] = r["rest_idle"]["rps"]
                r["rest1"] = r["rest_held"]["rps"]
                r["restratio"] = 100 * ratio(r["rest1"], r["rest0"])
        cells = []
        for _, width, key in cols:
            cells.append(width % fmt(r.get(key), specs[key]))
        line = " ".join(cells)
        if "error" in r:
            line = "%-8s %7d failed: %s" % (r["path"], r["n"], r["error"])
        elif "note" in r:
            line = "%-8s %7d %s" % (r["path"], r["n"], r["note"])
        print(line)
    print("(paths: nchan, nginx + nchan with worker_processes auto (one "
          "a core); nchan1, with one worker; handoff, Timing's sockets "
          "handed to timing-eventd; tls, Timing over HTTPS, wss:// "
          "tunnelled by mod_proxy_wstunnel; tunnel, plaintext with the "
          "hand-off off.  held: sockets connected; lost: refused or "
          "failed; in s: until all were held (Timing: each had its "
          "`connection` message; nchan: each was open); hs: handshake; "
          "fan: POST sent to receipt on every socket; resync: `resync` "
          "messages the sockets got, each an event the daemon could not "
          "vouch for (\"-\" on nchan, which has no such message); KiB: RSS "
          "growth over the sockets, nchan's of nginx's master and workers "
          "with the shared memory the workers touched; CPU srv: Apache, "
          "timing-eventd and MariaDB, or nginx; else: the most of one "
          "core the rest of the machine took in a measured window, near "
          "0 on a quiet machine)")
    if make_run:
        if "error" in make_run:
            print("`make run` holding %d sockets: failed: %s"
                  % (make_run["n"], make_run["error"]))
        else:
            print("`make run` holding %d sockets: %d connected, %d refused, "
                  "%d failed; hand-off %d, tunnel %d (Apache workers held)"
                  % (make_run["n"], make_run["connected"],
                     make_run["refused"], make_run["failed"],
                     make_run["handoff"], make_run["tunnel"]))


def main():
    if not os.path.isdir(WS_PACKAGE):
        raise SystemExit("fanout: no %s; run `make deps` (npm ci in "
                         "tests/node)" % WS_PACKAGE)
    if not shutil.which("wrk"):
        raise SystemExit("fanout: no wrk; run `make deps`")
    paths = env_words("BENCH_FANOUT_PATHS", DEFAULT_PATHS, PATHS)
    rest_paths = env_words("BENCH_FANOUT_REST", "handoff",
                           [p for p in PATHS if p not in NCHAN_PATHS])
    runs = []
    for label, n in sizes():
        for path in paths:
            if label == "max" and path != "handoff":
                print("note: `max` (%d sockets) is for the hand-off path "
                      "only: %s" % (n, "the tunnel holds an Apache thread "
                                    "per socket" if path in ("tunnel", "tls")
                                    else "the anchor is measured at the "
                                    "numbered sizes"))
                continue
            runs.append((path, label, n))
    print("Timing fan-out bench: idle sockets held by Node workers on %s, "
          "messages at %d/s for %d s"
          % (", ".join(paths), RATE, SECONDS))
    missing = nchan_missing()
    rows, failed = [], False
    for path, label, n in runs:
        if path in NCHAN_PATHS and missing:
            print("\n== %s, %d sockets: %s" % (path, n, missing))
            rows.append({"path": path, "n": n, "note": missing})
            continue
        try:
            rows.append(run_one(path, label, n, rest_paths))
        except Exception as e:
            traceback.print_exc()
            rows.append({"path": path, "n": n,
                         "error": str(e).splitlines()[0] if str(e) else
                         type(e).__name__})
            failed = True
    make_run = None
    sockets = env_int("BENCH_MAKE_RUN_SOCKETS", 2000)
    if sockets > 0:
        try:
            make_run = make_run_step(sockets)
        except Exception as e:
            traceback.print_exc()
            make_run = {"n": sockets, "error": str(e).splitlines()[0]
                        if str(e) else type(e).__name__}
            failed = True
    summary(rows, make_run)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
