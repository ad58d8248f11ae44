# SPDX-License-Identifier: Apache-2.0
"""One order along the whole path: log in, open staff sockets, POST an
order, and see its newOrder arrive live with the event log's id; the
upgrade refuses missing and forged credentials; an order placed while the
daemon is down still succeeds."""

import asyncio
import json
import os
import re

import pytest

from client import (auth, jwt_secret, make_jwt, request, run,
                    upgrade_status, ws_next, ws_open)

ORDER = {"customer_info": {"name": "สมชาย", "phone": "0812345678"},
         "items": [{"menu_id": 1, "quantity": 2, "note": "no peanuts"},
                   {"menu_id": 9, "quantity": 1}],
         "note": "pickup at 12"}


@pytest.fixture(scope="module", autouse=True)
def no_server_errors(stack):
    """No request of this module gets a 5xx: the access log says so."""
    log = stack.server_root + "/logs/access.log"
    start = os.path.getsize(log)
    yield
    with open(log, errors="replace") as f:
        f.seek(start)
        lines = f.read().splitlines()
    assert lines, "the access log should show this module's requests"
    errors = [l for l in lines if re.search(r'" 5\d\d ', l)]
    assert not errors, "\n".join(errors)


def post_order(stack, body=None, headers=None):
    return request(stack, "POST", "/api/orders", body=body or ORDER,
                   headers=headers)


def event_row(stack, order_id):
    return stack.mariadb("SELECT id, type, message FROM events "
                         "WHERE order_id = %d" % order_id)


# -- login ------------------------------------------------------------------

def test_login_answers_user_token_and_expiry(stack):
    ans = request(stack, "POST", "/api/auth/login",
                  body={"email": stack.admin_email.upper(),
                        "password": stack.admin_password})
    assert ans.status == 200, ans
    data = ans.json["data"]
    assert data["user"]["email"] == stack.admin_email
    assert data["user"]["role"] == "admin"
    assert data["user"]["disabled"] is False
    assert set(data["user"]) == {"id", "name", "email", "role", "disabled",
                                 "created_at"}
    assert data["expires_at"].endswith("Z")
    # The token is accepted where a credential is checked.
    assert request(stack, "GET", "/api/menu",
                   headers=auth(data["token"])).status == 200
    header, claims, _ = data["token"].split(".")
    pad = lambda s: s + "=" * (-len(s) % 4)  # noqa: E731
    import base64
    head = json.loads(base64.urlsafe_b64decode(pad(header)))
    body = json.loads(base64.urlsafe_b64decode(pad(claims)))
    assert head["alg"] == "HS256"
    assert body["role"] == "admin" and body["iss"] == "timing"
    assert body["sub"] == str(data["user"]["id"])
    assert body["exp"] - body["iat"] == 12 * 3600


@pytest.mark.parametrize("email, password", [
    ("admin@timing.local", "wrong password"),
    ("nobody@timing.local", "whatever123"),
    ("admin@timing.local", ""),
])
def test_login_refuses_wrong_credentials(stack, email, password):
    ans = request(stack, "POST", "/api/auth/login",
                  body={"email": email, "password": password})
    if password == "":
        assert ans.status == 422, ans
        return
    assert ans.status == 401, ans
    assert ans.json["error"]["code"] == "invalid_credentials"


@pytest.mark.parametrize("body, status", [
    (b'{"email": "a@b.c", "password": ', 400),
    (b'{"email": "a@b.c"} trailing', 400),
    (b'', 400),
    (b'[1, 2]', 422),
    (b'{"email": 5, "password": "x"}', 422),
    (b'{"password": "xxxxxxxx"}', 422),
    (b'{"email": "\xff@b.c", "password": "x"}', 400),
    (b'[' * 100 + b']' * 100, 400),
])
def test_login_malformed_bodies(stack, body, status):
    ans = request(stack, "POST", "/api/auth/login", body=body,
                  headers={"Content-Type": "application/json"})
    assert ans.status == status, ans
    assert ans.json["success"] is False


def test_login_needs_json(stack):
    ans = request(stack, "POST", "/api/auth/login",
                  body=b"email=a&password=b",
                  headers={"Content-Type":
                           "application/x-www-form-urlencoded"})
    assert ans.status == 415
    assert ans.json["error"]["code"] == "unsupported_media_type"


# -- the order's way to the staff sockets ------------------------------------

def test_order_reaches_two_admin_sockets_with_the_log_id(stack, admin_token):
    async def scenario():
        by_query = await ws_open(stack, "/admin?token=" + admin_token)
        by_protocol = await ws_open(
            stack, "/admin", subprotocols=["timing.v1",
                                           "bearer." + admin_token])
        try:
            for ws in (by_query, by_protocol):
                assert (await ws_next(ws))["type"] == "connection"
            ans = await asyncio.to_thread(post_order, stack)
            got = [await ws_next(by_query), await ws_next(by_protocol)]
            return ans, got
        finally:
            await by_query.close()
            await by_protocol.close()

    ans, got = run(scenario())
    assert ans.status == 201, ans
    order = ans.json["data"]
    rows = event_row(stack, order["id"])
    assert len(rows) == 1 and rows[0][1] == "newOrder"
    for msg in got:
        assert msg["type"] == "newOrder"
        assert msg["event_id"] == int(rows[0][0])
        sent = dict(order)
        del sent["tracking_token"]
        assert msg["order"] == sent
    assert got[0] == got[1]


def test_created_order_is_complete_and_stored(stack):
    ans = post_order(stack)
    assert ans.status == 201, ans
    order = ans.json["data"]
    assert ans.header("location") == "/api/orders/%d/status" % order["id"]
    cookie = ans.header("set-cookie")
    assert cookie.startswith("timing_track_%d=%s;" % (order["id"],
                                                       order["tracking_token"]))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert order["status"] == "pending" and order["version"] == 1
    assert order["pickup_number"] >= 1
    assert order["customer_info"] == {"name": "สมชาย", "phone": "0812345678",
                                      "email": None}
    assert order["currency"] == "THB"
    assert [(i["menu_id"], i["menu_name"], i["price"], i["quantity"],
             i["subtotal"], i["note"]) for i in order["items"]] == [
        (1, "Pad Thai", 60, 2, 120, "no peanuts"),
        (9, "Iced Latte", 65.5, 1, 65.5, None)]
    assert order["total"] == 185.5
    assert order["note"] == "pickup at 12"
    assert order["created_at"] == order["updated_at"]
    row = stack.mariadb("SELECT status, total_minor, customer_name, "
                        "pickup_number FROM orders WHERE id = %d"
                        % order["id"])
    assert row == [["pending", "18550", "สมชาย",
                    str(order["pickup_number"])]]
    history = stack.mariadb("SELECT from_status, to_status FROM "
                            "order_status_history WHERE order_id = %d"
                            % order["id"])
    assert history == [["NULL", "pending"]]
    # The token itself is never stored, only its hash.
    assert stack.mariadb("SELECT COUNT(*) FROM orders WHERE tracking_hash "
                         "LIKE '%%%s%%'" % order["tracking_token"]) == [["0"]]


def test_pickup_numbers_count_up(stack):
    first = post_order(stack).json["data"]["pickup_number"]
    second = post_order(stack).json["data"]["pickup_number"]
    assert second == first + 1


def test_order_with_token_is_linked_to_the_user(stack, admin_token):
    ans = post_order(stack, headers=auth(admin_token))
    assert ans.status == 201
    assert stack.mariadb("SELECT user_id FROM orders WHERE id = %d"
                         % ans.json["data"]["id"]) == [["1"]]


def test_order_with_daemon_stopped_still_succeeds(stack):
    stack.stop_eventd()
    try:
        ans = post_order(stack)
        assert ans.status == 201, ans
        order_id = ans.json["data"]["id"]
        assert len(event_row(stack, order_id)) == 1
        assert stack.mariadb("SELECT COUNT(*) FROM orders WHERE id = %d"
                             % order_id) == [["1"]]
    finally:
        stack.start_eventd()


def test_shop_closed_is_409(stack):
    stack.mariadb("UPDATE shop SET accepting_orders = FALSE")
    try:
        before = stack.mariadb("SELECT COUNT(*) FROM orders")
        ans = post_order(stack)
        assert ans.status == 409
        assert ans.json["error"]["code"] == "shop_closed"
        assert stack.mariadb("SELECT COUNT(*) FROM orders") == before
    finally:
        stack.mariadb("UPDATE shop SET accepting_orders = TRUE")


def line(menu_id=1, quantity=1, **kw):
    return dict({"menu_id": menu_id, "quantity": quantity}, **kw)


@pytest.mark.parametrize("body, field", [
    ({"customer_info": {"name": "A"}, "items": [line(999)]},
     "items[0].menu_id"),
    ({"customer_info": {"name": "A"}, "items": [line(10)]},
     "items[0].menu_id"),                       # unavailable
    ({"customer_info": {"name": "A"}, "items": [line(quantity=0)]},
     "items[0].quantity"),
    ({"customer_info": {"name": "A"}, "items": [line(quantity=100)]},
     "items[0].quantity"),
    ({"customer_info": {"name": "A"}, "items": [line(quantity="2")]},
     "items[0].quantity"),
    ({"customer_info": {"name": "A"}, "items": [line(quantity=2.5)]},
     "items[0].quantity"),
    ({"customer_info": {"name": "A"}, "items": []}, "items"),
    ({"customer_info": {"name": "A"}, "items": [line()] * 51}, "items"),
    ({"customer_info": {"name": "A"}}, "items"),
    ({"customer_info": {"phone": "1"}, "items": [line()]},
     "customer_info.name"),
    ({"customer_info": {"name": "   "}, "items": [line()]},
     "customer_info.name"),
    ({"items": [line()]}, "customer_info"),
    ({"customer_info": {"name": "x" * 101}, "items": [line()]},
     "customer_info.name"),
    ({"customer_info": {"name": "a\u0001b"}, "items": [line()]},
     "customer_info.name"),
    ({"customer_info": {"name": "a\u0000b"}, "items": [line()]},
     "customer_info.name"),
    ({"customer_info": {"name": "A", "email": "not-an-address"},
      "items": [line()]}, "customer_info.email"),
    ({"customer_info": {"name": "A", "phone": "call me"},
      "items": [line()]}, "customer_info.phone"),
    ({"customer_info": {"name": "A"}, "items": [line()], "note": "n" * 501},
     "note"),
    ({"customer_info": {"name": "A"}, "items": [line(note="n" * 201)]},
     "items[0].note"),
    ({"customer_info": {"name": "A"}, "items": [line(menu_id=-1)]},
     "items[0].menu_id"),
    ({"customer_info": {"name": "A"}, "items": ["x"]}, "items[0]"),
])
def test_invalid_orders_are_422_and_write_nothing(stack, body, field):
    before = stack.mariadb("SELECT COUNT(*) FROM orders")
    ans = post_order(stack, body=body)
    assert ans.status == 422, ans
    err = ans.json["error"]
    assert err["code"] == "validation_failed"
    assert field in [d["field"] for d in err["details"]], err
    assert stack.mariadb("SELECT COUNT(*) FROM orders") == before


def test_text_is_trimmed_and_notes_keep_newlines(stack):
    ans = post_order(stack, body={
        "customer_info": {"name": "  Ann  "},
        "items": [line(note="less\tspicy\nno ice")], "note": " hi "})
    assert ans.status == 201, ans
    order = ans.json["data"]
    assert order["customer_info"]["name"] == "Ann"
    assert order["note"] == "hi"
    assert order["items"][0]["note"] == "less\tspicy\nno ice"


def test_sql_metacharacters_are_stored_verbatim(stack):
    name = "Robert'); DROP TABLE orders;-- \\ % _ \""
    ans = post_order(stack, body={"customer_info": {"name": name},
                                  "items": [line()]})
    assert ans.status == 201, ans
    assert ans.json["data"]["customer_info"]["name"] == name
    assert stack.mariadb("SELECT COUNT(*) FROM orders WHERE id = %d"
                         % ans.json["data"]["id"]) == [["1"]]


@pytest.mark.parametrize("raw, status", [
    (b'{"customer_info": ', 400),
    (b'{"customer_info": {"name": "\xc3\x28"}, "items": []}', 400),
    (b'null', 422),
])
def test_malformed_order_bodies(stack, raw, status):
    ans = request(stack, "POST", "/api/orders", body=raw,
                  headers={"Content-Type": "application/json"})
    assert ans.status == status, ans


def test_lone_surrogate_escape_becomes_a_replacement_character(stack):
    """json-c decodes a lone \\ud800 escape to U+FFFD: stored and answered
    as valid UTF-8, never as broken bytes."""
    ans = request(stack, "POST", "/api/orders",
                  body=b'{"customer_info": {"name": "a\\ud800b"}, '
                       b'"items": [{"menu_id": 1, "quantity": 1}]}',
                  headers={"Content-Type": "application/json"})
    assert ans.status == 201, ans
    assert ans.json["data"]["customer_info"]["name"] == "a\ufffdb"


def test_order_body_over_limit_is_413(stack):
    ans = request(stack, "POST", "/api/orders", body=b" " * 70000,
                  headers={"Content-Type": "application/json"})
    assert ans.status == 413


# -- the upgrade guard --------------------------------------------------------

def test_upgrade_without_a_token_is_401(stack):
    assert upgrade_status(stack, "/admin") == 401
    assert upgrade_status(stack, "/admin", ["timing.v1"]) == 401


def test_upgrade_with_forged_tokens_is_401(stack):
    secret = jwt_secret(stack)
    for token in (make_jwt(secret, key="k" * 40),
                  make_jwt(secret, header={"alg": "none"}),
                  make_jwt(secret, exp=1000),
                  make_jwt(secret, iss="evil"),
                  "garbage"):
        assert upgrade_status(stack, "/admin?token=" + token) == 401, token
        assert upgrade_status(stack, "/admin",
                              ["timing.v1", "bearer." + token]) == 401


def test_upgrade_with_a_customer_token_is_403(stack):
    import random
    ans = request(stack, "POST", "/api/auth/register", body={
        "name": "Cust", "email": "c%d@example.com" % random.randint(0, 10**9),
        "password": "customer-pass"})
    token = ans.json["data"]["token"]
    assert upgrade_status(stack, "/admin?token=" + token) == 403


def test_a_burst_of_orders_loses_no_notification(stack, admin_token):
    """The daemon's datagram queue is short (net.unix.max_dgram_qlen);
    a burst of concurrent orders must still reach it, every one."""
    from concurrent.futures import ThreadPoolExecutor

    def stats():
        return request(stack, "GET", "/api/admin/websocket/stats",
                       headers=auth(admin_token)
                       ).json["data"]["events_received"]

    before = stats()
    with ThreadPoolExecutor(32) as pool:
        answers = list(pool.map(lambda _: post_order(stack), range(200)))
    assert [a.status for a in answers] == [201] * 200
    assert stats() - before == 200
