# SPDX-License-Identifier: Apache-2.0
"""A restored backup rewinds the event history: ids that clients saw are
issued again for other events.  After schema/new-epoch (what the README
tells operators to run after a restore) a client resuming from the old
history gets `resync`, never a replay of the wrong events, and live
delivery goes on in the new epoch."""

import os
import subprocess

from client import admin_login, place_order, run, ws_next, ws_open
from conftest import CHECKOUT


def client_options(stack):
    return ["--socket=" + stack.db_socket, "--user=" + stack.os_user]


def test_a_restored_history_gets_resync_not_a_wrong_replay(own_stack):
    stack = own_stack
    token = admin_login(stack)
    auth = ["timing.v1", "bearer." + token]
    place_order(stack, "ก่อนสำรอง")
    backup = subprocess.run(["mariadb-dump", "--no-defaults", "--hex-blob",
                             *client_options(stack), "timing"],
                            capture_output=True, check=True).stdout

    async def see_two_more():
        ws = await ws_open(stack, "/admin", subprotocols=auth)
        hello = await ws_next(ws)
        place_order(stack, "หลังสำรอง 1")
        place_order(stack, "หลังสำรอง 2")
        seen = [await ws_next(ws), await ws_next(ws)]
        await ws.close()
        return hello, seen

    hello, seen = run(see_two_more())
    last = seen[-1]["event_id"]

    # The shop restores the backup: those two events are gone, and their
    # ids will be issued again.
    subprocess.run(["mariadb", "--no-defaults", *client_options(stack),
                    "timing"], input=backup, check=True)
    res = subprocess.run([os.path.join(CHECKOUT, "schema", "new-epoch"),
                          "timing", *client_options(stack)],
                         capture_output=True, text=True, check=True)
    assert res.stdout.startswith("epoch now ")
    reissued = [place_order(stack, "ใหม่ %d" % i)["id"] for i in range(2)]

    async def resume():
        ws = await ws_open(stack, "/admin?last_event_id=%d&epoch=%s"
                           % (last, hello["epoch"]), subprotocols=auth)
        first, second = await ws_next(ws), await ws_next(ws)
        newest = place_order(stack, "สด")["id"]
        live = await ws_next(ws)
        await ws.close()
        return first, second, newest, live

    first, second, newest, live = run(resume())
    assert first["type"] == "connection"
    assert first["epoch"] != hello["epoch"]
    assert second["type"] == "resync"
    assert live["type"] == "newOrder" and live["order"]["id"] == newest
    # The ids really were issued again: a replay would have been wrong.
    rows = stack.mariadb("SELECT id FROM events WHERE id <= %d" % last)
    assert len(rows) >= 2 and reissued
