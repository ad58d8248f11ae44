# SPDX-License-Identifier: Apache-2.0
"""Only JSON is JSON (the API's conventions): object names in single quotes
and raw control characters inside strings are a 400 malformed_json on
every endpoint that takes a body, and change nothing; a number is a
number in any RFC 8259 form, and an integer field takes any form of an
integer in its range (2.0, 2e0, 1e1) and answers 422 on that field to a
fraction or a number too large for it (2.5, 1e20, 1e400)."""

import random
import re

import pytest

from client import auth, place_order, request

# What the malformed requests must leave as it was.
TABLES = ("users, orders, order_items, order_status_history, menu_items, "
          "shop, events, idempotency_keys")


def send_text(stack, method, path, text, headers=None):
    h = {"Content-Type": "application/json"}
    h.update(headers or {})
    return request(stack, method, path, body=text.encode(), headers=h)


def single_quoted(text):
    """The text once with each of its object names in single quotes."""
    names = list(re.finditer(r'"(\w+)":', text))
    assert names
    return {"name %s in single quotes" % m.group(1):
            text[:m.start()] + "'%s':" % m.group(1) + text[m.end():]
            for m in names}


@pytest.fixture(scope="module")
def targets(stack, admin_token):
    """An order, a menu item and a staff user of this test's own, for the
    endpoints that change one."""
    n = random.randint(0, 10 ** 9)
    order = place_order(stack, "Strict Target")
    item = request(stack, "POST", "/api/admin/menu", headers=auth(admin_token),
                   body={"name": "Strict Item %d" % n, "price": 10})
    assert item.status == 201, item
    user = request(stack, "POST", "/api/admin/users",
                   headers=auth(admin_token),
                   body={"name": "Strict Staff", "role": "staff",
                         "email": "strict-staff-%d@example.com" % n,
                         "password": "secret-pass-1"})
    assert user.status == 201, user
    return {"n": n, "order": order,
            "menu": item.json["data"]["id"],
            "user": user.json["data"]["user"]["id"]}


def endpoints(stack, admin_token, t):
    """Every route that takes a body (mod_timing.c's route table): method,
    path, headers, and a body that would be accepted with "@@" removed
    ("@@" sits inside a string: where the control characters go)."""
    n, order, admin = t["n"], t["order"], auth(admin_token)
    return [
        ("POST", "/api/auth/register", {},
         '{"name": "Strict Reg", "email": "strict-reg-%d@example.com", '
         '"password": "secret-pass-1@@"}' % n),
        ("POST", "/api/auth/login", {},
         '{"email": "%s", "password": "%s@@"}'
         % (stack.admin_email, stack.admin_password)),
        ("POST", "/api/orders", {},
         '{"customer_info": {"name": "Strict Order %d"}, '
         '"items": [{"menu_id": 1, "quantity": 1}], "note": "a@@b"}' % n),
        ("POST", "/api/orders/%d/cancel?tracking_token=%s"
         % (order["id"], order["tracking_token"]), {},
         '{"reason": "changed@@ mind"}'),
        ("PUT", "/api/admin/orders/%d/status" % order["id"], admin,
         '{"status": "preparing", "reason": "go@@"}'),
        ("PUT", "/api/admin/shop", admin, '{"name": "Strict Shop@@"}'),
        ("POST", "/api/admin/menu", admin,
         '{"name": "Strict New %d", "price": 10, "description": "d@@"}' % n),
        ("PUT", "/api/admin/menu/%d" % t["menu"], admin,
         '{"name": "Strict Renamed %d", "description": "d@@"}' % n),
        ("POST", "/api/admin/users", admin,
         '{"name": "Strict Other", "email": "strict-other-%d@example.com", '
         '"password": "secret-pass-1@@", "role": "staff"}' % n),
        ("PATCH", "/api/admin/users/%d" % t["user"], admin,
         '{"name": "Strict Renamed@@"}'),
    ]


def test_non_json_bodies_are_400_everywhere_and_change_nothing(
        stack, admin_token, targets):
    before = stack.mariadb("CHECKSUM TABLE " + TABLES)
    wrong = []
    for method, path, headers, text in endpoints(stack, admin_token,
                                                 targets):
        bodies = single_quoted(text.replace("@@", ""))
        bodies.update({"raw TAB": text.replace("@@", "\t"),
                  "raw U+0001": text.replace("@@", "\x01"),
                  "raw U+001F": text.replace("@@", "\x1f"),
                       "raw LF": text.replace("@@", "\n")})
        for what, body in bodies.items():
            ans = send_text(stack, method, path, body, headers)
            code = ans.json.get("error", {}).get("code") \
                if ans.body.startswith(b"{") else None
            if ans.status != 400 or code != "malformed_json":
                wrong.append("%s %s %s: %d %s" % (method, path, what,
                                                  ans.status, code))
    assert not wrong, "\n".join(wrong)
    assert stack.mariadb("CHECKSUM TABLE " + TABLES) == before


def test_json_with_escapes_and_quotes_in_strings_is_still_json(stack):
    """The check sees strings as JSON does: an escaped quote, an escaped
    backslash before the closing quote, a single quote, escaped control
    characters are all fine."""
    text = ('{"customer_info": {"name": "O\'Brien \\"Bob\\" \\\\"}, '
            '"items": [{"menu_id": 1, "quantity": 1, '
            '"note": "it\'s {\'a\':1}\\t\\n"}], "note": "\\\\"}')
    ans = send_text(stack, "POST", "/api/orders", text)
    assert ans.status == 201, ans
    data = ans.json["data"]
    assert data["customer_info"]["name"] == 'O\'Brien "Bob" \\'
    assert data["items"][0]["note"] == "it's {'a':1}"
    assert data["note"] == "\\"


def order_text(quantity, menu_id="1"):
    return ('{"customer_info": {"name": "Numbers"}, '
            '"items": [{"menu_id": %s, "quantity": %s}]}' % (menu_id,
                                                            quantity))


@pytest.mark.parametrize("text,value", [("2.0", 2), ("2e0", 2), ("1e1", 10),
                                        ("2E+0", 2), ("20e-1", 2)])
def test_an_integer_in_any_form_is_that_integer(stack, text, value):
    ans = send_text(stack, "POST", "/api/orders", order_text(text))
    assert ans.status == 201, ans
    assert ans.json["data"]["items"][0]["quantity"] == value
    oid = ans.json["data"]["id"]
    assert stack.mariadb("SELECT quantity FROM order_items WHERE order_id = %d"
                         % oid) == [[str(value)]]


def test_menu_id_in_exponent_form(stack):
    ans = send_text(stack, "POST", "/api/orders", order_text("1", "1e0"))
    assert ans.status == 201, ans
    assert ans.json["data"]["items"][0]["menu_id"] == 1


@pytest.mark.parametrize("text", ["2.5", "1e400", "1e20", "-1e400", "1.5e0",
                                  "99999999999999999999", "1e-400",
                                  "-0.0e0"])
def test_a_number_that_is_no_quantity_is_422_on_the_field(stack, text):
    count = stack.mariadb("SELECT COUNT(*) FROM orders")
    ans = send_text(stack, "POST", "/api/orders", order_text(text))
    assert ans.status == 422, ans
    assert ans.json["error"]["code"] == "validation_failed"
    assert [d["field"] for d in ans.json["error"]["details"]] == \
        ["items[0].quantity"], ans
    assert stack.mariadb("SELECT COUNT(*) FROM orders") == count


def test_a_menu_id_too_large_is_422_on_the_field(stack):
    ans = send_text(stack, "POST", "/api/orders", order_text("1", "1e400"))
    assert ans.status == 422, ans
    assert [d["field"] for d in ans.json["error"]["details"]] == \
        ["items[0].menu_id"], ans


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity", "1.",
                                  "1.e3", "-01", "01", ".5", "+1"])
def test_numbers_json_does_not_have_are_400(stack, text):
    ans = send_text(stack, "POST", "/api/orders", order_text(text))
    assert ans.status == 400, ans
    assert ans.json["error"]["code"] == "malformed_json"
