# SPDX-License-Identifier: Apache-2.0
"""Stopping Apache while requests are in flight, as every test stack's
teardown and `make run`'s Ctrl-C do, kills no child by a signal.

A hard stop (SIGTERM) of the event MPM has each child close its workers'
sockets from its main thread while a worker may be freeing its own
connection at that moment; now and then the child dies of SIGSEGV
(apr_os_sock_get under close_worker_sockets in its core; most likely the
crash that test_metrics.py's stack caught at teardown in issue 15).  Stack.stop_apache stops
gracefully instead, as Debian's apache2.service does.  The race is rare --
about one hard stop in 30 under this load -- so the cycles repeat:
TIMING_STOP_CYCLES, 8 in make test (which a hard stop fails about one run
in four), 150 in `make stop-loop` (fewer than one run in 100 would miss
it)."""

import http.client
import os
import threading
import time

import pytest

from client import request
from conftest import crash_reports, running_stack

CYCLES = int(os.environ.get("TIMING_STOP_CYCLES", "8"))
CLIENTS = 12


@pytest.fixture(scope="module")
def stack(tmp_root):
    with running_stack(tmp_root, "stop") as s:
        yield s


def test_apache_stops_gracefully(stack):
    stack.stop_apache()
    try:
        with open(stack.log_path("apache"), errors="replace") as f:
            log = f.read()
        assert "caught SIGWINCH, shutting down gracefully" in log
    finally:
        stack.start_apache()


def test_stopping_under_load_kills_no_child(stack):
    paths = [("/api/health", None), ("/metrics", "127.0.0.1"),
             ("/api/menu", None)]
    started = time.monotonic()
    for cycle in range(CYCLES):
        done = threading.Event()

        def client(n):
            path, source = paths[n % len(paths)]
            while not done.is_set():
                try:
                    request(stack, "GET", path, source=source)
                except (OSError, http.client.HTTPException):
                    time.sleep(0.01)    # cut or refused: Apache is stopping

        clients = [threading.Thread(target=client, args=(n,))
                   for n in range(CLIENTS)]
        for t in clients:
            t.start()
        try:
            time.sleep(0.3)
            stack.stop_apache()
        finally:
            done.set()
            for t in clients:
                t.join()
        crashed = crash_reports(stack.log_path("apache"))
        assert not crashed, "cycle %d of %d:\n%s" % (cycle + 1, CYCLES,
                                                      "\n".join(crashed))
        stack.start_apache()
    print("\n%d stops under load in %.1f s" % (CYCLES,
                                               time.monotonic() - started))
