# SPDX-License-Identifier: Apache-2.0
"""Drill 1: timing-eventd killed with SIGKILL under load, then restarted.
REST does not notice (every answer 2xx: an order's event goes to a daemon
that is not there, the request still succeeds); the sockets reconnect to
the new daemon, get `resync` for what it cannot replay, and catch up, so
every client ends with every event it may see."""

import asyncio
import time

from drill_lib import (account, check_orders, close_stack, open_stack,
                       run_with_load, summary, write_figures)

DOWN = 3.0          # seconds without a daemon


def test_daemon_killed_and_restarted_under_load(tmp_root, ws_path):
    stack = open_stack(tmp_root, "drill-kill", ws_path)
    try:
        async def fault():
            killed = time.monotonic()
            await asyncio.to_thread(stack.kill_eventd)
            await asyncio.sleep(DOWN)
            restarted = time.monotonic()
            await asyncio.to_thread(stack.start_eventd)
            return {"down": time.monotonic() - killed,
                    "window": (killed, restarted)}

        load, clients, fig, seconds = run_with_load(stack, fault)
        acked, order_problems = check_orders(stack, load)
        events, delivered, lost, duplicated, problems = account(stack,
                                                                clients)
        while_down = load.statuses(fig["window"])
        write_figures("1 eventd SIGKILL (%s)" % ws_path, summary(
            load, clients, acked, events, lost, duplicated, seconds)
            + ", daemon down %.1f s, REST while down %s, slowest answer "
            "%.3f s, %s" % (fig["down"], while_down, load.slowest(),
                            fig["memory"]))

        assert not order_problems, "\n".join(order_problems[:20])
        assert set(load.statuses()) <= {200, 201}, load.statuses()
        assert sum(while_down.values()) > 0, "no load while the daemon was down"
        assert not problems, "\n".join(problems)
        assert lost == 0 and duplicated == 0
        assert fig["open_at_end"] == len(clients)
        # Every client noticed the daemon going and came back to the new one.
        assert all(c.connections >= 2 for c in clients), \
            [(c.path, c.connections) for c in clients]
    finally:
        close_stack(stack)
