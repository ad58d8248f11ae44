# SPDX-License-Identifier: Apache-2.0
"""Drill 3: Apache's graceful restart (what logrotate does every day)
under load.  The listening socket stays open across generations, so no
REST request is refused, lost or answered 5xx, and no client misses an
event.  Tunnelled sockets live in the old generation's processes: they
are told `reconnect` and resume on the new one.  Handed-off sockets are
the daemon's: the reload closes none of them."""

import asyncio
import time

from drill_lib import (account, apache_pids, check_orders, close_stack,
                       open_stack, run_with_load, summary, write_figures)


def test_graceful_restart_under_load(tmp_root, ws_path):
    stack = open_stack(tmp_root, "drill-graceful", ws_path,
                       eventd_args=["--recycle-spread-ms", "2000"])
    try:
        async def fault():
            old = set(apache_pids(stack)[1:])
            at = time.monotonic()
            await asyncio.to_thread(stack.apache_graceful)
            # Until the old generation's processes have gone.
            while old & set(apache_pids(stack)[1:]):
                assert time.monotonic() - at < 30, "old children remain"
                await asyncio.sleep(0.1)
            return {"old_gone": time.monotonic() - at}

        load, clients, fig, seconds = run_with_load(stack, fault)
        acked, order_problems = check_orders(stack, load)
        events, delivered, lost, duplicated, problems = account(stack,
                                                                clients)
        write_figures("3 Apache graceful (%s)" % ws_path, summary(
            load, clients, acked, events, lost, duplicated, seconds)
            + ", old generation gone %.1f s after the signal, slowest "
            "answer %.3f s, %s" % (fig["old_gone"], load.slowest(),
                                   fig["memory"]))

        assert not order_problems, "\n".join(order_problems[:20])
        assert set(load.statuses()) <= {200, 201}, load.statuses()
        assert not problems, "\n".join(problems)
        assert lost == 0 and duplicated == 0
        assert fig["open_at_end"] == len(clients)
        recycled = [c for c in clients
                    if any(code == 1012 and reason == "reconnect"
                           for code, reason in c.closes)]
        if ws_path == "tunnel":
            assert len(recycled) == len(clients), \
                [(c.path, c.closes) for c in clients]
        else:
            assert not any(c.closes for c in clients), \
                [(c.path, c.closes) for c in clients]
    finally:
        close_stack(stack)
