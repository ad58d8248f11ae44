# SPDX-License-Identifier: Apache-2.0
"""Drill 2: MariaDB stopped under load, then started again.  While it is
down every request that needs it answers 503 at once (no hang, no 500);
afterwards the service recovers without an Apache restart (mod_dbd
replaces the dead connections).  No order answered 201 is lost, and no
order answered 503 was written after all."""

import asyncio
import time

from client import request
from drill_lib import (account, apache_pids, check_orders, close_stack,
                       open_stack, run_with_load, summary, write_figures)

DOWN = 4.0          # seconds without a database
QUICK = 5.0         # the slowest answer allowed while it is down


def test_database_stopped_and_started_under_load(tmp_root, ws_path):
    stack = open_stack(tmp_root, "drill-db", ws_path)
    try:
        apache_before = apache_pids(stack)[0]

        async def fault():
            stopping = time.monotonic()
            await asyncio.to_thread(stack.stop_db)
            stopped = time.monotonic()
            await asyncio.sleep(DOWN)
            starting = time.monotonic()
            await asyncio.to_thread(stack.start_db)
            started = time.monotonic()
            # Recovered: the first 200 from an endpoint that reads the
            # database, after it was started.
            while request(stack, "GET", "/api/menu").status != 200:
                assert time.monotonic() - started < 30, "did not recover"
                await asyncio.sleep(0.05)
            return {"stopping": stopping, "window": (stopped, starting),
                    "started": started,
                    "recovered": time.monotonic() - started}

        load, clients, fig, seconds = run_with_load(stack, fault, after=5.0)
        acked, order_problems = check_orders(stack, load)
        events, delivered, lost, duplicated, problems = account(stack,
                                                                clients)
        while_down = load.statuses(fig["window"])
        slowest_down = load.slowest(fig["window"])
        # Requests begun after recovery plus a moment for every process's
        # pool to have replaced its dead connections.
        settled = (fig["started"] + fig["recovered"] + 2.0, float("inf"))
        after = load.statuses(settled)
        write_figures("2 MariaDB stop/start (%s)" % ws_path, summary(
            load, clients, acked, events, lost, duplicated, seconds)
            + ", database down %.1f s, REST while down %s, slowest answer "
            "while down %.3f s, recovered %.2f s after start, REST after "
            "%s, %s" % (fig["window"][1] - fig["window"][0], while_down,
                        slowest_down, fig["recovered"], after, fig["memory"]))

        assert not order_problems, "\n".join(order_problems[:20])
        assert sum(while_down.values()) > 20, "too little load while down"
        assert set(while_down) == {503}, while_down
        assert slowest_down < QUICK, slowest_down
        # Anywhere in the drill: 2xx or 503, never another 5xx or no answer.
        assert set(load.statuses()) <= {200, 201, 503}, load.statuses()
        assert after and set(after) <= {200, 201}, after
        assert apache_pids(stack)[0] == apache_before
        assert not problems, "\n".join(problems)
        assert lost == 0 and duplicated == 0
        assert fig["open_at_end"] == len(clients)
    finally:
        close_stack(stack)
