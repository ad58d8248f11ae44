# SPDX-License-Identifier: Apache-2.0
"""Resuming a live channel: replay of missed events in order, and resync
when replay cannot be trusted (daemon restarted, another epoch).  Every
test runs on both WebSocket paths (conftest.py's path_stack)."""

import asyncio
import os

import pytest

from client import admin_login, place_order, run, ws_next, ws_open
from conftest import HANDOFF_SETTING, make_stack


@pytest.fixture(scope="module")
def stack(path_stack):
    return path_stack


@pytest.fixture(scope="module")
def admin_token(path_token):
    return path_token


async def quiet(ws, seconds=0.7):
    """The next message within `seconds`, or None."""
    try:
        return await asyncio.wait_for(ws.recv(), seconds)
    except asyncio.TimeoutError:
        return None


def test_replay_after_a_disconnect_with_five_missed_events(stack,
                                                           admin_token):
    async def scenario():
        ws = await ws_open(stack, "/admin?token=" + admin_token)
        hello = await ws_next(ws)
        await asyncio.to_thread(place_order, stack, "Replay")
        seen = await ws_next(ws)
        await ws.close()
        missed = [await asyncio.to_thread(place_order, stack, "Replay")
                  for _ in range(5)]
        ws = await ws_open(stack, "/admin?token=%s&last_event_id=%d&epoch=%s"
                           % (admin_token, seen["event_id"], hello["epoch"]))
        try:
            again = await ws_next(ws)
            replayed = [await ws_next(ws) for _ in range(5)]
            extra = await quiet(ws)
            live = await asyncio.to_thread(place_order, stack, "Replay")
            after = await ws_next(ws)
            return seen, missed, again, replayed, extra, live, after
        finally:
            await ws.close()

    seen, missed, again, replayed, extra, live, after = run(scenario())
    assert again["type"] == "connection"
    assert [m["type"] for m in replayed] == ["newOrder"] * 5
    assert [m["order"]["id"] for m in replayed] == [o["id"] for o in missed]
    ids = [m["event_id"] for m in replayed]
    assert ids == sorted(ids) and ids[0] > seen["event_id"]
    assert extra is None, "nothing beyond the missed events: %s" % extra
    assert after["type"] == "newOrder" and after["order"]["id"] == live["id"]


def test_resync_after_the_daemon_restarts(stack, admin_token):
    async def before():
        ws = await ws_open(stack, "/admin?token=" + admin_token)
        hello = await ws_next(ws)
        await asyncio.to_thread(place_order, stack, "Replay")
        seen = await ws_next(ws)
        await ws.close()
        return hello, seen

    hello, seen = run(before())
    stack.stop_eventd()
    stack.start_eventd()

    async def after():
        ws = await ws_open(stack, "/admin?token=%s&last_event_id=%d&epoch=%s"
                           % (admin_token, seen["event_id"], hello["epoch"]))
        try:
            return await ws_next(ws), await ws_next(ws)
        finally:
            await ws.close()

    first, second = run(after())
    assert first["type"] == "connection"
    assert second["type"] == "resync"


def test_resync_for_another_epoch(stack, admin_token):
    async def scenario():
        ws = await ws_open(stack, "/admin?token=%s&last_event_id=1"
                           "&epoch=0123456789abcdef" % admin_token)
        try:
            return await ws_next(ws), await ws_next(ws)
        finally:
            await ws.close()

    first, second = run(scenario())
    assert first["type"] == "connection"
    assert first["epoch"] != "0123456789abcdef"
    assert second == {"type": "resync", "reason": second["reason"]}


def test_staff_channel_names_the_databases_newest_event_after_a_restart(
        tmp_root, ws_path):
    """An order placed while the daemon was down: after it restarts, the
    staff channel's `connection` names that order's event (not 0), and a
    resume from 0, the start of history, gets resync, not silence.  A
    stack of its own: the failed send makes the next event of that Apache
    process announce a loss (resync) to every staff socket."""
    stack = make_stack(os.path.join(tmp_root, "newest-" + ws_path),
                       defines={"TIMING_WEBSOCKET_HANDOFF":
                                HANDOFF_SETTING[ws_path]})
    stack.start()
    try:
        admin_token = admin_login(stack)
        check_newest_event_after_a_restart(stack, admin_token)
    finally:
        stack.stop()


def check_newest_event_after_a_restart(stack, admin_token):
    stack.stop_eventd()
    try:
        missed = place_order(stack, "Replay")
    finally:
        stack.start_eventd()
    newest = int(stack.mariadb("SELECT MAX(id) FROM events"
                               " WHERE type <> 'revoke'")[0][0])

    async def scenario():
        ws = await ws_open(stack, "/admin?token=" + admin_token)
        hello = await ws_next(ws)
        await ws.close()
        ws = await ws_open(stack, "/admin?token=%s&last_event_id=0&epoch=%s"
                           % (admin_token, hello["epoch"]))
        try:
            return hello, await ws_next(ws), await ws_next(ws)
        finally:
            await ws.close()

    hello, again, second = run(scenario())
    assert missed["id"] > 0
    assert hello["last_event_id"] == newest
    assert again["type"] == "connection"
    assert second["type"] == "resync"
