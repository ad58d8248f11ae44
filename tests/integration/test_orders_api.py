# SPDX-License-Identifier: Apache-2.0
"""The order rows of the API contract after creation: status by credential, the
customer's list, cancel, the staff list with cursor, detail with history,
status changes with If-Match/ETag, and their events."""

import asyncio
import random
import threading

import pytest

from client import (auth, place_order, post_order, random_loopback, request,
                    run, ws_next, ws_open)

ITEMS = [{"menu_id": 1, "quantity": 1}]


def place(stack, token=None):
    return place_order(stack, "Nok", email="nok@example.com",
                       phone="0812345678", token=token)


@pytest.fixture(scope="module")
def customer(stack):
    email = "cust%d@example.com" % random.randint(0, 10 ** 9)
    ans = request(stack, "POST", "/api/auth/register",
                  body={"name": "Customer", "email": email,
                        "password": "secret-pass-1"})
    assert ans.status == 201, ans
    return ans.json["data"]


def test_status_visible_to_staff_owner_token_and_cookie_only(stack,
                                                             admin_token,
                                                             customer):
    order = place(stack, token=customer["token"])
    oid, tracking = order["id"], order["tracking_token"]
    path = "/api/orders/%d/status" % oid
    staff = request(stack, "GET", path, headers=auth(admin_token))
    assert staff.status == 200
    assert staff.json["data"]["customer_info"]["phone"] == "0812345678"
    assert staff.header("etag") == '"1"'
    for how in ({"headers": auth(customer["token"])},
                {"path": path + "?tracking_token=" + tracking},
                {"headers": {"Cookie": "a=b; timing_track_%d=%s" % (oid,
                                                                   tracking)}}):
        ans = request(stack, "GET", how.get("path", path),
                      headers=how.get("headers"))
        assert ans.status == 200, (how, ans)
        info = ans.json["data"]["customer_info"]
        assert info["phone"] == "081****678"
        assert info["email"] == "n***@example.com"
    other = request(stack, "POST", "/api/auth/register",
                    body={"name": "Other", "email": "o%d@example.com"
                          % random.randint(0, 10 ** 9),
                          "password": "secret-pass-2"}).json["data"]
    for how in ({}, {"headers": auth(other["token"])},
                {"path": path + "?tracking_token=wrong"},
                {"headers": {"Cookie": "timing_track_%d=%s" % (oid + 1,
                                                               tracking)}}):
        ans = request(stack, "GET", how.get("path", path),
                      headers=how.get("headers"))
        assert ans.status == 404, (how, ans)
        assert ans.json["error"]["code"] == "not_found"
    missing = request(stack, "GET", "/api/orders/999999/status")
    assert missing.status == 404 and missing.body == \
        request(stack, "GET", path).body


def test_customer_lists_own_orders_newest_first(stack, customer):
    ids = [place(stack, token=customer["token"])["id"]
           for _ in range(3)]
    ans = request(stack, "GET", "/api/orders?limit=2",
                  headers=auth(customer["token"]))
    assert ans.status == 200, ans
    got = [o["id"] for o in ans.json["data"]]
    assert got == sorted(got, reverse=True) and got[0] == ids[-1]
    assert ans.json["meta"]["count"] == 2
    nxt = ans.json["meta"]["next_cursor"]
    ans2 = request(stack, "GET", "/api/orders?limit=200&cursor=" + nxt,
                   headers=auth(customer["token"]))
    assert all(o["id"] < got[-1] for o in ans2.json["data"])
    assert ans2.json["meta"]["next_cursor"] is None
    assert request(stack, "GET", "/api/orders").status == 401


def test_cancel_by_tracking_token_then_409_past_pending(stack, admin_token):
    order = place(stack)
    path = "/api/orders/%d/cancel" % order["id"]
    assert request(stack, "POST", path).status == 404
    ans = request(stack, "POST", path + "?tracking_token="
                  + order["tracking_token"])
    assert ans.status == 200, ans
    assert ans.json["data"]["status"] == "cancelled"
    assert ans.json["data"]["version"] == 2
    again = request(stack, "POST", path + "?tracking_token="
                    + order["tracking_token"])
    assert again.status == 200 and again.json["data"]["version"] == 2
    second = place(stack)
    request(stack, "PUT", "/api/admin/orders/%d/status" % second["id"],
            body={"status": "preparing"}, headers=auth(admin_token))
    late = request(stack, "POST", "/api/orders/%d/cancel?tracking_token=%s"
                   % (second["id"], second["tracking_token"]))
    assert late.status == 409
    assert late.json["error"]["code"] == "not_cancellable"


def test_status_changes_follow_the_rules(stack, admin_token):
    order = place(stack)
    path = "/api/admin/orders/%d/status" % order["id"]
    put = lambda body, **h: request(stack, "PUT", path, body=body,  # noqa
                                    headers=dict(auth(admin_token), **h))
    ans = put({"status": "preparing"}, **{"If-Match": '"1"'})
    assert ans.status == 200, ans
    assert ans.json["data"]["version"] == 2 and ans.header("etag") == '"2"'
    stale = put({"status": "ready"}, **{"If-Match": '"1"'})
    assert stale.status == 412
    assert stale.json["error"]["code"] == "precondition_failed"
    back = put({"status": "pending", "reason": "mis-click"})
    assert back.status == 200 and back.json["data"]["status"] == "pending"
    same = put({"status": "pending"})
    assert same.status == 200 and same.json["data"]["version"] == 3
    assert put({"status": "eaten"}).status == 422
    assert put({"status": "completed"}).status == 200
    final = put({"status": "ready"})
    assert final.status == 409
    assert final.json["error"]["code"] == "invalid_transition"
    assert put({"status": "completed"}).status == 200      # same: no-op
    detail = request(stack, "GET", "/api/admin/orders/%d" % order["id"],
                     headers=auth(admin_token)).json["data"]
    hist = [(h["from"], h["to"], h["reason"]) for h in
            detail["status_history"]]
    assert hist == [(None, "pending", None), ("pending", "preparing", None),
                    ("preparing", "pending", "mis-click"),
                    ("pending", "completed", None)]
    assert detail["status_history"][1]["by"]["id"] == 1
    assert detail["status_history"][0]["by"] is None
    events = stack.mariadb("SELECT type FROM events WHERE order_id = %d "
                           "ORDER BY id" % order["id"])
    assert [e[0] for e in events] == ["newOrder"] + ["orderStatusUpdate"] * 3


def test_status_change_is_announced_with_previous_status(stack, admin_token):
    order = place(stack)

    async def scenario():
        ws = await ws_open(stack, "/admin?token=" + admin_token)
        try:
            await ws_next(ws)
            ans = await asyncio.to_thread(
                request, stack, "PUT",
                "/api/admin/orders/%d/status" % order["id"],
                body={"status": "ready"}, headers=auth(admin_token))
            return ans, await ws_next(ws)
        finally:
            await ws.close()

    ans, msg = run(scenario())
    assert ans.status == 200
    assert msg["type"] == "orderStatusUpdate"
    assert msg["status"] == "ready" and msg["previous_status"] == "pending"
    assert msg["order"] == ans.json["data"]
    row = stack.mariadb("SELECT MAX(id) FROM events WHERE order_id = %d"
                        % order["id"])
    assert msg["event_id"] == int(row[0][0])


def test_staff_roles_and_customers(stack, admin_token, customer):
    order = place(stack)
    for path in ("/api/admin/orders", "/api/admin/orders/%d" % order["id"]):
        assert request(stack, "GET", path).status == 401
        ans = request(stack, "GET", path, headers=auth(customer["token"]))
        assert ans.status == 403 and ans.json["error"]["code"] == "forbidden"


def test_admin_list_filters_and_pages_without_skips(stack, admin_token):
    """Pages never skip or repeat an order that existed when paging began,
    even while new orders keep arriving."""
    existing = {int(r[0]) for r in stack.mariadb("SELECT id FROM orders")}
    stop = threading.Event()

    def writer():
        while not stop.is_set():
            post_order(stack, "W")

    t = threading.Thread(target=writer)
    t.start()
    try:
        seen, cursor = [], None
        while True:
            path = "/api/admin/orders?limit=3" + (
                "&cursor=" + cursor if cursor else "")
            ans = request(stack, "GET", path, headers=auth(admin_token))
            assert ans.status == 200, ans
            seen += [o["id"] for o in ans.json["data"]]
            cursor = ans.json["meta"]["next_cursor"]
            if not cursor:
                break
    finally:
        stop.set()
        t.join()
    assert len(seen) == len(set(seen)), "an order was repeated"
    assert existing <= set(seen), "an order was skipped"
    pending = request(stack, "GET", "/api/admin/orders?status=cancelled,ready",
                      headers=auth(admin_token)).json["data"]
    assert all(o["status"] in ("cancelled", "ready") for o in pending)
    for bad in ("status=eaten", "limit=0", "limit=201", "limit=x",
                "cursor=abc", "status="):
        ans = request(stack, "GET", "/api/admin/orders?" + bad,
                      headers=auth(admin_token))
        assert ans.status in (200, 422), (bad, ans)
        if bad != "status=":
            assert ans.status == 422, (bad, ans)


def test_bad_ids_are_404(stack, admin_token):
    for path in ("/api/orders/0/status", "/api/orders/-1/status",
                 "/api/orders/abc/status", "/api/orders/1e3/status",
                 "/api/orders/99999999999999999999/status",
                 "/api/admin/orders/4294967296"):
        ans = request(stack, "GET", path, headers=auth(admin_token))
        assert ans.status == 404, (path, ans)


def test_idempotency_key_replays_and_refuses_reuse(stack):
    key = "key-%d" % random.randint(0, 10 ** 9)
    ip = random_loopback()
    body = {"customer_info": {"name": "Idem"}, "items": ITEMS}
    first = request(stack, "POST", "/api/orders", body=body,
                    headers={"Idempotency-Key": key}, source=ip)
    again = request(stack, "POST", "/api/orders", body=body,
                    headers={"Idempotency-Key": key}, source=ip)
    assert first.status == again.status == 201
    assert first.json == again.json
    assert again.header("location") == first.header("location")
    assert stack.mariadb("SELECT COUNT(*) FROM orders WHERE id = %d"
                         % first.json["data"]["id"]) == [["1"]]
    other = request(stack, "POST", "/api/orders",
                    body=dict(body, note="different"),
                    headers={"Idempotency-Key": key}, source=ip)
    # The key itself is the scope: the same key and body from another
    # address is the same request (tests/integration/test_idempotency.py).
    elsewhere = request(stack, "POST", "/api/orders", body=body,
                        headers={"Idempotency-Key": key},
                        source=random_loopback())
    assert elsewhere.status == 201
    assert elsewhere.json == first.json
    assert other.status == 422
    assert other.json["error"]["code"] == "idempotency_key_reused"


def test_order_creation_is_rate_limited_per_address(stack):
    ip = random_loopback()
    body = {"customer_info": {"name": "R"}, "items": ITEMS}
    statuses = [request(stack, "POST", "/api/orders", body=body,
                        source=ip).status for _ in range(31)]
    assert statuses[:30] == [201] * 30
    assert statuses[30] == 429
    limited = request(stack, "POST", "/api/orders", body=body, source=ip)
    assert int(limited.header("retry-after")) >= 1
    assert request(stack, "POST", "/api/orders", body=body,
                   source=random_loopback()).status == 201
