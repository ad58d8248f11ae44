# SPDX-License-Identifier: Apache-2.0
"""The live channels through Apache: the customer's /orders/:id with each
credential form and each refusal, what each channel receives, ordering
without duplicates under concurrent orders, and the cap on live sockets.
Every test runs on both WebSocket paths: handed off to timing-eventd, and
tunnelled through Apache (conftest.py's path_stack)."""

import asyncio
import os
import random
import socket
from concurrent.futures import ThreadPoolExecutor

import pytest
import websockets

from client import (admin_login, auth, place_order, put_status, request, run,
                    upgrade_status, ws_next, ws_open)
from conftest import HANDOFF_SETTING, make_stack


@pytest.fixture(scope="module")
def stack(path_stack):
    return path_stack


@pytest.fixture(scope="module")
def admin_token(path_token):
    return path_token


def place(stack, token=None):
    return place_order(stack, "Live", phone="0812345678", token=token)


def set_status(stack, token, order_id, status):
    ans = put_status(stack, token, order_id, status)
    assert ans.status == 200, ans
    return ans.json["data"]


def customer(stack):
    ans = request(stack, "POST", "/api/auth/register", body={
        "name": "Cust", "email": "live%d@example.com"
        % random.randint(0, 10 ** 9), "password": "customer-pass"})
    assert ans.status == 201
    return ans.json["data"]["token"]


def test_customer_channel_gets_only_its_order_masked(stack, admin_token):
    mine, other = place(stack), place(stack)

    async def scenario():
        ws = await ws_open(stack, "/orders/%d?tracking_token=%s"
                           % (mine["id"], mine["tracking_token"]))
        try:
            hello = await ws_next(ws)
            await asyncio.to_thread(set_status, stack, admin_token,
                                    other["id"], "preparing")
            await asyncio.to_thread(place, stack)
            await asyncio.to_thread(set_status, stack, admin_token,
                                    mine["id"], "preparing")
            return hello, await ws_next(ws)
        finally:
            await ws.close()

    hello, update = run(scenario())
    assert hello["type"] == "connection"
    assert update["type"] == "orderStatusUpdate"
    assert update["order"]["id"] == mine["id"]
    assert update["status"] == "preparing"
    assert update["previous_status"] == "pending"
    assert update["order"]["customer_info"]["phone"] == "081****678"


def test_customer_channel_credential_forms(stack):
    token = customer(stack)
    order = place(stack, token)
    path = "/orders/%d" % order["id"]
    assert upgrade_status(stack, path + "?tracking_token="
                          + order["tracking_token"]) == 101
    assert upgrade_status(stack, path, subprotocols=[
        "timing.v1", "tracking." + order["tracking_token"]]) == 101
    assert upgrade_status(stack, path + "?token=" + token) == 101
    assert upgrade_status(stack, path, subprotocols=[
        "timing.v1", "bearer." + token]) == 101
    cookie = {"Cookie": "timing_track_%d=%s" % (order["id"],
                                                order["tracking_token"])}
    same = dict(cookie, Origin="http://127.0.0.1:%d" % stack.port)
    assert upgrade_status(stack, path, headers=same) == 101


def test_customer_channel_refusals(stack):
    order = place(stack)
    path = "/orders/%d" % order["id"]
    cookie = "timing_track_%d=%s" % (order["id"], order["tracking_token"])
    assert upgrade_status(stack, path) == 401
    assert upgrade_status(stack, path + "?tracking_token=wrong") == 404
    assert upgrade_status(stack, "/orders/999999?tracking_token="
                          + order["tracking_token"]) == 404
    assert upgrade_status(stack, path + "?token=" + customer(stack)) == 404
    assert upgrade_status(stack, path + "?token=forged") == 401
    assert upgrade_status(stack, path, headers={"Cookie": cookie}) == 403
    assert upgrade_status(stack, path, headers={
        "Cookie": cookie, "Origin": "http://evil.example"}) == 403


def test_twenty_concurrent_orders_arrive_once_each(stack, admin_token):
    async def scenario():
        ws = await ws_open(stack, "/admin?token=" + admin_token)
        try:
            await ws_next(ws)
            with ThreadPoolExecutor(20) as pool:
                orders = await asyncio.gather(*[
                    asyncio.get_running_loop().run_in_executor(
                        pool, place, stack) for _ in range(20)])
            got = [await ws_next(ws) for _ in range(20)]
            try:
                extra = await asyncio.wait_for(ws.recv(), 1)
            except asyncio.TimeoutError:
                extra = None
            return orders, got, extra
        finally:
            await ws.close()

    orders, got, extra = run(scenario())
    assert extra is None, "a duplicate or stray message: %s" % extra
    assert sorted(m["order"]["id"] for m in got) == \
        sorted(o["id"] for o in orders)
    ids = [m["event_id"] for m in got]
    assert len(set(ids)) == 20


def test_sockets_past_the_cap_get_503(tmp_root, ws_path):
    capped = make_stack(os.path.join(tmp_root, "capped-" + ws_path),
                        defines={"TIMING_MAX_SOCKETS": "3",
                                 "TIMING_WEBSOCKET_HANDOFF":
                                 HANDOFF_SETTING[ws_path]})
    capped.start()
    try:
        token = admin_login(capped)

        async def scenario():
            held = [await ws_open(capped, "/admin?token=" + token)
                    for _ in range(3)]
            for ws in held:
                await ws_next(ws)
            try:
                await ws_open(capped, "/admin?token=" + token)
                refused = None
            except websockets.exceptions.InvalidStatusCode as e:
                refused = e
            rest = await asyncio.to_thread(request, capped, "GET",
                                           "/api/menu")
            await held[0].close()
            await asyncio.sleep(0.5)
            again = await ws_open(capped, "/admin?token=" + token)
            hello = await ws_next(again)
            await again.close()
            for ws in held[1:]:
                await ws.close()
            return refused, rest, hello

        refused, rest, hello = run(scenario())
        assert refused is not None and refused.status_code == 503
        assert refused.headers.get("Retry-After")
        assert rest.status == 200            # REST keeps its workers
        assert hello["type"] == "connection"
    finally:
        capped.stop()


@pytest.mark.parametrize("path", ["/orders/abc", "/orders/0", "/orders/1/x",
                                  "/orders/-1", "/orders/"])
def test_customer_channel_paths_that_are_not_an_order(stack, path):
    assert upgrade_status(stack, path + "?tracking_token=x") == 404


def test_a_slow_consumer_is_cut_off_and_others_are_not(tmp_root, ws_path):
    """A client that stops reading is closed at the output cap with a
    `slow_client` disconnect; a reading client gets every event.  The
    events are large (50 lines with notes, ~15 KB) so that the kernel's
    and Apache's buffers fill and the daemon's own queue grows."""
    big = [{"menu_id": 1 + i % 9, "quantity": 1, "note": "n" * 200}
           for i in range(50)]
    small = make_stack(os.path.join(tmp_root, "slow-" + ws_path),
                       defines={"TIMING_WEBSOCKET_HANDOFF":
                                HANDOFF_SETTING[ws_path]},
                       eventd_args=["--max-queue", "16384"])
    small.start()
    try:
        token = admin_login(small)

        async def scenario():
            fast = await ws_open(small, "/admin?token=" + token)
            slow = await websockets.connect(
                "ws://127.0.0.1:%d/admin?token=%s" % (small.port, token),
                max_queue=1, read_limit=2 ** 10, write_limit=2 ** 10)
            # Stop reading: a tiny kernel buffer and no recv() calls.
            slow.transport.get_extra_info("socket").setsockopt(
                socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            slow.transport.pause_reading()
            await ws_next(fast)

            async def read_all():
                got = []
                while len(got) < 400:
                    m = await ws_next(fast, timeout=30)
                    if m["type"] == "newOrder":
                        got.append(m["order"]["id"])
                return got

            reader = asyncio.create_task(read_all())
            orders = []
            for _ in range(400):
                orders.append(await asyncio.to_thread(
                    place_order, small, "Slow", items=big))
            got = await reader
            stats = await asyncio.to_thread(
                request, small, "GET", "/api/admin/websocket/stats",
                headers=auth(token))
            await fast.close()
            slow.transport.abort()
            return orders, got, stats.json["data"]

        orders, got, stats = run(scenario())
        assert got == [o["id"] for o in orders]
        assert stats["slow_clients_dropped"] >= 1
        assert stats["connections"]["admin"] == 1
    finally:
        small.stop()


def test_order_channel_connection_names_the_creation_event(stack,
                                                           admin_token):
    """On an order's channel, `last_event_id` is the newest event
    about that order, its creation event at first -- even when the daemon
    started after the order was placed."""
    order = place(stack)
    stack.stop_eventd()
    stack.start_eventd()
    created = int(stack.mariadb("SELECT id FROM events WHERE order_id = %d"
                                % order["id"])[0][0])

    async def scenario():
        ws = await ws_open(stack, "/orders/%d?tracking_token=%s"
                           % (order["id"], order["tracking_token"]))
        try:
            return await ws_next(ws)
        finally:
            await ws.close()

    hello = run(scenario())
    assert hello["type"] == "connection"
    assert hello["last_event_id"] == created
