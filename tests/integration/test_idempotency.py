# SPDX-License-Identifier: Apache-2.0
"""Idempotency-Key means one request (the contract's Orders rules): the same key with
the same body within 24 hours answers the first answer again and creates
nothing; another body, or another account, is a 422
idempotency_key_reused that creates nothing; for anonymous callers the
key itself is the scope, so the same key and body from another address
gets the first answer (tracking cookie included); two requests with one
key at once create one order."""

import concurrent.futures
import random

import pytest

from client import auth, random_loopback, request


def new_key():
    return "idem-%016x" % random.getrandbits(64)


def body(name, **extra):
    return dict({"customer_info": {"name": name, "phone": "0812345678"},
                 "items": [{"menu_id": 1, "quantity": 2}]}, **extra)


def place(stack, key, data, token=None, source=None):
    headers = {"Idempotency-Key": key}
    if token:
        headers.update(auth(token))
    if isinstance(data, str):
        headers["Content-Type"] = "application/json"
        data = data.encode()
    return request(stack, "POST", "/api/orders", body=data, headers=headers,
                   source=source or random_loopback())


def orders_named(stack, name):
    return int(stack.mariadb("SELECT COUNT(*) FROM orders WHERE"
                             " customer_name = '%s'" % name)[0][0])


def assert_reused(ans):
    assert ans.status == 422, ans
    assert ans.json["error"]["code"] == "idempotency_key_reused", ans


@pytest.fixture(scope="module")
def accounts(stack):
    tokens = []
    for _ in range(2):
        email = "idem%d@example.com" % random.randint(0, 10 ** 9)
        ans = request(stack, "POST", "/api/auth/register",
                      body={"name": "Idem", "email": email,
                            "password": "secret-pass-1"})
        assert ans.status == 201, ans
        tokens.append(ans.json["data"]["token"])
    return tokens


def test_same_key_and_body_from_another_address_replays(stack):
    key, name = new_key(), "Idem Elsewhere"
    first = place(stack, key, body(name))
    assert first.status == 201, first
    oid = first.json["data"]["id"]
    again = place(stack, key, body(name))
    assert again.status == 201, again
    assert again.json == first.json
    assert again.header("location") == first.header("location")
    assert again.header("idempotent-replayed") == "true"
    # The tracking cookie comes again, for the browser that retried.
    cookie = again.header("set-cookie") or ""
    assert cookie.startswith("timing_track_%d=%s;"
                             % (oid, first.json["data"]["tracking_token"])), \
        again.headers
    assert orders_named(stack, name) == 1


def test_same_body_written_otherwise_is_the_same_request(stack):
    """The fingerprint is of the JSON value, not of its bytes: another
    order of names, other white space, 2.0 for 2, \\u escapes."""
    key, name, ip = new_key(), "Idem Canonical", random_loopback()
    first = place(stack, key, body(name, note="ก"), source=ip)
    assert first.status == 201, first
    text = ('{ "items" : [ { "quantity" : 2.0, "menu_id" : 1e0 } ],\n'
            '  "note": "\\u0e01", "customer_info": {"phone": "0812345678",'
            ' "name": "%s"} }' % name)
    again = place(stack, key, text, source=ip)
    assert again.status == 201, again
    assert again.json["data"]["id"] == first.json["data"]["id"]
    assert orders_named(stack, name) == 1


@pytest.mark.parametrize("same_address", [True, False])
def test_same_key_with_another_body_is_422_and_creates_nothing(
        stack, same_address):
    key, name = new_key(), "Idem Other Body %s" % same_address
    ip = random_loopback()
    first = place(stack, key, body(name), source=ip)
    assert first.status == 201, first
    for other in (body(name, note="different"), body(name + " B"),
                  dict(body(name), items=[{"menu_id": 1, "quantity": 3}])):
        assert_reused(place(stack, key, other,
                            source=ip if same_address else random_loopback()))
    assert orders_named(stack, name) == 1
    assert orders_named(stack, name + " B") == 0


def test_a_key_belongs_to_the_account_that_used_it(stack, accounts):
    mine, theirs = accounts
    key, name = new_key(), "Idem Account"
    first = place(stack, key, body(name), token=mine)
    assert first.status == 201, first
    again = place(stack, key, body(name), token=mine)
    assert again.status == 201 and again.json == first.json, again
    # Another account, or no account, with the same key and body.
    assert_reused(place(stack, key, body(name), token=theirs))
    assert_reused(place(stack, key, body(name)))
    assert orders_named(stack, name) == 1
    # An anonymous key is no account's either.
    key, name = new_key(), "Idem Anonymous First"
    assert place(stack, key, body(name)).status == 201
    assert_reused(place(stack, key, body(name), token=mine))
    assert orders_named(stack, name) == 1


@pytest.mark.parametrize("token", [False, True])
def test_two_requests_at_once_create_one_order(stack, accounts, token):
    key, name = new_key(), "Idem Race %s" % token
    n = 4

    def go(_):
        return place(stack, key, body(name),
                     token=accounts[0] if token else None)

    with concurrent.futures.ThreadPoolExecutor(n) as pool:
        answers = list(pool.map(go, range(n)))
    assert [a.status for a in answers] == [201] * n, answers
    ids = {a.json["data"]["id"] for a in answers}
    assert len(ids) == 1, answers
    assert orders_named(stack, name) == 1
    assert stack.mariadb("SELECT COUNT(*) FROM idempotency_keys WHERE"
                         " order_id = %d" % ids.pop()) == [["1"]]


def test_a_refused_body_claims_no_key(stack):
    """A 422 for the order itself stores nothing: the corrected order
    with the same key is a new request."""
    key, name = new_key(), "Idem Corrected"
    bad = place(stack, key, dict(body(name), items=[{"menu_id": 1,
                                                     "quantity": 0}]))
    assert bad.status == 422 and \
        bad.json["error"]["code"] == "validation_failed", bad
    good = place(stack, key, body(name))
    assert good.status == 201, good
    assert orders_named(stack, name) == 1


def test_key_is_stored_as_sent(stack):
    """The key is the scope: filed as the client sent it, with the
    account (none here) beside it."""
    key = new_key()
    assert place(stack, key, body("Idem Stored")).status == 201
    rows = stack.mariadb("SELECT user_id IS NULL, LENGTH(request_hash)"
                         " FROM idempotency_keys WHERE idem_key = '%s'" % key)
    assert rows == [["1", "32"]]
