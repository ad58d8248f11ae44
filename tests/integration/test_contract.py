# SPDX-License-Identifier: Apache-2.0
"""The rest of the API contract's rows against the real stack: registration and
/me, the admin's user management, the login limits, the event log (paging
and monotonic reads under concurrent writers), the WebSocket figures,
menu CRUD, shop settings, the day's summary (JSON and CSV), CORS, and
Apache's own errors in the envelope."""

import asyncio
import csv
import io
import re
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import pytest

from client import (auth, post_order, random_loopback, request, run, token_of,
                    ws_next, ws_open)

USER_FIELDS = {"id", "name", "email", "role", "disabled", "created_at"}
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def unique_email(prefix="u"):
    return "%s-%s@contract.example" % (prefix, uuid.uuid4().hex[:12])


def assert_error(ans, status, code=None):
    assert ans.status == status, ans
    assert ans.header("content-type") == "application/json; charset=utf-8", \
        ans.headers
    body = ans.json
    assert body["success"] is False, body
    assert isinstance(body["error"]["message"], str)
    if code:
        assert body["error"]["code"] == code, body
    return body["error"]


def detail_fields(ans):
    return [d["field"] for d in ans.json["error"].get("details") or []]


def register(stack, name="Contract Customer", email=None,
             password="customer-pass-1"):
    ans = request(stack, "POST", "/api/auth/register",
                  body={"name": name, "email": email or unique_email("c"),
                        "password": password})
    assert ans.status == 201, ans
    return ans.json["data"]


def login(stack, email, password, source=None):
    return request(stack, "POST", "/api/auth/login",
                   body={"email": email, "password": password},
                   source=source)


def create_user(stack, admin_token, role, name=None, password=None):
    """A new staff or admin account through the API: (user, password)."""
    password = password or "pw-" + uuid.uuid4().hex[:12]
    ans = request(stack, "POST", "/api/admin/users",
                  body={"name": name or "Contract %s" % role,
                        "email": unique_email(role), "password": password,
                        "role": role}, headers=auth(admin_token))
    assert ans.status == 201, ans
    return ans.json["data"]["user"], password


def place(stack, items=None, name="Contract", token=None, expect=201):
    ans = post_order(stack, name, token=token, items=items)
    assert ans.status == expect, ans
    return ans


def parse_iso(text):
    assert ISO.match(text), text
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=timezone.utc)


def walk(value):
    """Every (key, value) pair of a JSON document, nested ones included."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield k, v
            yield from walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from walk(v)


def max_event_id(stack):
    return int(stack.mariadb("SELECT COALESCE(MAX(id), 0) FROM events")[0][0])


# -- registration and /me -----------------------------------------------------

def test_register_answers_user_token_and_expiry(stack):
    email = unique_email("Reg")
    before = time.time()
    ans = request(stack, "POST", "/api/auth/register",
                  body={"name": "  สมหญิง  ", "email": email,
                        "password": "eight-ch"})
    assert ans.status == 201, ans
    data = ans.json["data"]
    assert set(data) == {"user", "token", "expires_at"}
    user = data["user"]
    assert set(user) == USER_FIELDS
    assert isinstance(user["id"], int)
    assert user["name"] == "สมหญิง"              # trimmed
    assert user["email"].lower() == email.lower()
    assert user["role"] == "customer" and user["disabled"] is False
    assert abs(parse_iso(user["created_at"]).timestamp() - before) < 60
    # The token lives 12 hours (TimingTokenLifetime's default).
    expires = parse_iso(data["expires_at"]).timestamp()
    assert abs(expires - (before + 12 * 3600)) < 60
    row = stack.mariadb("SELECT role, disabled FROM users WHERE id = %d"
                        % user["id"])
    assert row == [["customer", "0"]]

    me = request(stack, "GET", "/api/auth/me", headers=auth(data["token"]))
    assert me.status == 200, me
    assert me.json["data"] == {"user": user}


def test_register_refuses_a_taken_email_case_insensitively(stack):
    email = unique_email("taken")
    register(stack, email=email)
    for variant in (email, email.upper(), email.capitalize()):
        ans = request(stack, "POST", "/api/auth/register",
                      body={"name": "Twin", "email": variant,
                            "password": "another-pass"})
        assert_error(ans, 409, "email_taken")
    assert stack.mariadb("SELECT COUNT(*) FROM users WHERE email = '%s'"
                         % email) == [["1"]]


@pytest.mark.parametrize("body, field", [
    ({"name": "Short", "password": "seven77"}, "password"),
    ({"name": "Bad mail", "email": "not-an-address",
      "password": "long-enough"}, "email"),
    ({"name": "Bad mail", "email": "two@@example.com",
      "password": "long-enough"}, "email"),
    ({"password": "long-enough"}, "name"),
    ({"name": "   ", "password": "long-enough"}, "name"),
    ({"name": "Long", "password": "p" * 129}, "password"),
])
def test_register_validates(stack, body, field):
    body = dict(body)
    body.setdefault("email", unique_email("bad"))
    ans = request(stack, "POST", "/api/auth/register", body=body)
    assert_error(ans, 422, "validation_failed")
    assert field in detail_fields(ans), ans.json
    assert stack.mariadb("SELECT COUNT(*) FROM users WHERE email = '%s'"
                         % body["email"].replace("'", "''")) == [["0"]]


def test_me_needs_a_token_and_answers_the_callers_account(stack,
                                                          admin_token):
    assert_error(request(stack, "GET", "/api/auth/me"), 401)
    ans = request(stack, "GET", "/api/auth/me", headers=auth(admin_token))
    assert ans.status == 200, ans
    user = ans.json["data"]["user"]
    assert set(user) == USER_FIELDS
    assert user["email"] == stack.admin_email and user["role"] == "admin"


# -- the admin's user management ----------------------------------------------

def test_admin_creates_staff_and_admins_and_lists_only_them(stack,
                                                             admin_token):
    staff, staff_pw = create_user(stack, admin_token, "staff")
    admin, admin_pw = create_user(stack, admin_token, "admin")
    assert set(staff) == USER_FIELDS
    assert staff["role"] == "staff" and admin["role"] == "admin"
    assert staff["disabled"] is False
    # Both can log in, with the role they were given.
    for user, pw in ((staff, staff_pw), (admin, admin_pw)):
        ans = login(stack, user["email"], pw)
        assert ans.status == 200, ans
        assert ans.json["data"]["user"] == user
    customer = register(stack)["user"]

    ans = request(stack, "GET", "/api/admin/users", headers=auth(admin_token))
    assert ans.status == 200, ans
    listed = ans.json["data"]
    assert ans.json["meta"]["count"] == len(listed)
    ids = [u["id"] for u in listed]
    assert staff["id"] in ids and admin["id"] in ids
    assert customer["id"] not in ids
    assert all(u["role"] in ("staff", "admin") for u in listed)
    assert all(set(u) == USER_FIELDS for u in listed)
    expected = stack.mariadb("SELECT id FROM users WHERE role IN "
                             "('staff', 'admin') ORDER BY id")
    assert sorted(ids) == [int(r[0]) for r in expected]
    assert [u for u in listed if u["id"] == staff["id"]] == [staff]

    # Never a password hash, nor anything like one, anywhere.
    hashes = [r[0] for r in stack.mariadb("SELECT password_hash FROM users")]
    for answer in (ans, request(stack, "GET", "/api/auth/me",
                                headers=auth(admin_token))):
        text = answer.body.decode()
        assert not re.search(r"\$2[abxy]?\$", text), text
        for h in hashes:
            assert h not in text
        for key, _ in walk(answer.json):
            assert "hash" not in key.lower() and "password" not in \
                key.lower(), key


def test_admin_create_refuses_taken_emails_and_other_roles(stack,
                                                           admin_token):
    customer_email = unique_email("cust")
    register(stack, email=customer_email)
    for email in (stack.admin_email.upper(), customer_email.upper()):
        ans = request(stack, "POST", "/api/admin/users",
                      body={"name": "Dup", "email": email,
                            "password": "long-enough", "role": "staff"},
                      headers=auth(admin_token))
        assert_error(ans, 409, "email_taken")
    for role in ("customer", "root", None):
        body = {"name": "R", "email": unique_email("role"),
                "password": "long-enough"}
        if role:
            body["role"] = role
        ans = request(stack, "POST", "/api/admin/users", body=body,
                      headers=auth(admin_token))
        assert_error(ans, 422, "validation_failed")
        assert "role" in detail_fields(ans)


def test_patch_changes_name_role_and_password(stack, admin_token):
    user, old_pw = create_user(stack, admin_token, "staff")
    path = "/api/admin/users/%d" % user["id"]

    ans = request(stack, "PATCH", path, body={"name": "  Renamed Staff "},
                  headers=auth(admin_token))
    assert ans.status == 200, ans
    assert ans.json["data"]["user"] == dict(user, name="Renamed Staff")

    ans = request(stack, "PATCH", path, body={"role": "admin"},
                  headers=auth(admin_token))
    assert ans.status == 200, ans
    assert ans.json["data"]["user"]["role"] == "admin"
    promoted = login(stack, user["email"], old_pw)
    assert promoted.status == 200, promoted
    assert promoted.json["data"]["user"]["role"] == "admin"
    # The new admin may now manage users.
    assert request(stack, "GET", "/api/admin/users",
                   headers=auth(promoted.json["data"]["token"])).status == 200

    new_pw = "brand-new-password"
    ans = request(stack, "PATCH", path, body={"password": new_pw},
                  headers=auth(admin_token))
    assert ans.status == 200, ans
    assert not re.search(r"\$2[abxy]?\$", ans.body.decode())
    assert login(stack, user["email"], new_pw).status == 200
    assert_error(login(stack, user["email"], old_pw), 401,
                 "invalid_credentials")

    ans = request(stack, "PATCH", path, body={"role": "staff"},
                  headers=auth(admin_token))
    assert ans.status == 200 and ans.json["data"]["user"]["role"] == "staff"
    for bad in ({"role": "customer"}, {"password": "short"}, {},
                {"disabled": "yes"}, {"name": ""}):
        assert_error(request(stack, "PATCH", path, body=bad,
                             headers=auth(admin_token)), 422)


def test_disabling_a_user_stops_their_token_at_once(stack, admin_token):
    user, pw = create_user(stack, admin_token, "staff")
    token = token_of(stack, user["email"], pw)
    path = "/api/admin/users/%d" % user["id"]
    assert request(stack, "GET", "/api/admin/orders",
                   headers=auth(token)).status == 200

    ans = request(stack, "PATCH", path, body={"disabled": True},
                  headers=auth(admin_token))
    assert ans.status == 200, ans
    assert ans.json["data"]["user"]["disabled"] is True
    # The very next request with the old token, on any endpoint.
    for method, p in (("GET", "/api/admin/orders"), ("GET", "/api/auth/me"),
                      ("GET", "/api/menu")):
        assert_error(request(stack, method, p, headers=auth(token)), 401)
    assert_error(login(stack, user["email"], pw), 401, "invalid_credentials")

    ans = request(stack, "PATCH", path, body={"disabled": False},
                  headers=auth(admin_token))
    assert ans.status == 200 and ans.json["data"]["user"]["disabled"] is False
    fresh = token_of(stack, user["email"], pw)
    assert request(stack, "GET", "/api/admin/orders",
                   headers=auth(fresh)).status == 200


def test_the_last_enabled_admin_cannot_be_disabled_or_demoted(stack,
                                                              admin_token):
    """Our own second admin can be disabled while another admin remains;
    then the provisioned admin is the last one and both refusals hold.
    Other enabled admins (from earlier tests) are disabled for the duration
    and enabled again afterwards."""
    provisioned = int(stack.mariadb("SELECT id FROM users WHERE email = '%s'"
                                    % stack.admin_email)[0][0])
    mine, pw = create_user(stack, admin_token, "admin")
    mine_token = token_of(stack, mine["email"], pw)
    others = [int(r[0]) for r in stack.mariadb(
        "SELECT id FROM users WHERE role = 'admin' AND NOT disabled "
        "AND id NOT IN (%d, %d)" % (provisioned, mine["id"]))]
    disabled_here = []
    try:
        for uid in others:
            ans = request(stack, "PATCH", "/api/admin/users/%d" % uid,
                          body={"disabled": True}, headers=auth(admin_token))
            assert ans.status == 200, ans
            disabled_here.append(uid)
        # Two enabled admins: disabling one of them (mine) is allowed.
        ans = request(stack, "PATCH", "/api/admin/users/%d" % mine["id"],
                      body={"disabled": True}, headers=auth(admin_token))
        assert ans.status == 200, ans
        disabled_here.append(mine["id"])
        assert_error(request(stack, "GET", "/api/auth/me",
                             headers=auth(mine_token)), 401)
        path = "/api/admin/users/%d" % provisioned
        for body in ({"disabled": True}, {"role": "staff"},
                     {"role": "staff", "disabled": True}):
            ans = request(stack, "PATCH", path, body=body,
                          headers=auth(admin_token))
            assert_error(ans, 409, "last_admin")
        assert stack.mariadb("SELECT role, disabled FROM users WHERE id = %d"
                             % provisioned) == [["admin", "0"]]
        # Changing something harmless on the last admin is still fine.
        ans = request(stack, "PATCH", path, body={"disabled": False},
                      headers=auth(admin_token))
        assert ans.status == 200, ans
    finally:
        for uid in disabled_here:
            request(stack, "PATCH", "/api/admin/users/%d" % uid,
                    body={"disabled": False}, headers=auth(admin_token))
        stack.mariadb("UPDATE users SET disabled = FALSE, role = 'admin' "
                      "WHERE id = %d" % provisioned)
    assert request(stack, "GET", "/api/auth/me",
                   headers=auth(token_of(stack, mine["email"], pw))
                   ).status == 200


def test_user_management_is_for_admins_only(stack, admin_token):
    staff, staff_pw = create_user(stack, admin_token, "staff")
    staff_token = token_of(stack, staff["email"], staff_pw)
    customer = register(stack)
    target = "/api/admin/users/%d" % staff["id"]
    calls = [("GET", "/api/admin/users", None),
             ("POST", "/api/admin/users",
              {"name": "X", "email": unique_email("x"),
               "password": "long-enough", "role": "admin"}),
             ("PATCH", target, {"role": "admin"})]
    for token in (staff_token, customer["token"]):
        for method, path, body in calls:
            ans = request(stack, method, path, body=body, headers=auth(token))
            assert_error(ans, 403, "forbidden")
    for method, path, body in calls:
        assert_error(request(stack, method, path, body=body), 401)
    assert stack.mariadb("SELECT role FROM users WHERE id = %d"
                         % staff["id"]) == [["staff"]]
    # A customer is not staff: PATCH answers as if there were no such user.
    for uid in (customer["user"]["id"], 999999999):
        ans = request(stack, "PATCH", "/api/admin/users/%d" % uid,
                      body={"role": "admin"}, headers=auth(admin_token))
        assert_error(ans, 404, "not_found")
    assert stack.mariadb("SELECT role FROM users WHERE id = %d"
                         % customer["user"]["id"]) == [["customer"]]


# -- login limits -------------------------------------------------------------
# The counters live in the database (rate_events), not in an Apache
# process's memory: the stack runs several Apache child processes, and a
# per-process counter would let each of them allow the full limit.  Every
# request below is its own TCP connection, so the attempts are spread over
# whichever children the listener hands them to.

def test_ten_failures_lock_the_account_even_for_the_right_password(
        stack, admin_token):
    assert len(stack.apache_children()) >= 2, "expected several children"
    email = unique_email("locked")
    password = "right-password-1"
    register(stack, email=email, password=password)
    bucket = "login:account:" + email.lower()
    # Ten at once, each from its own address (so only the account limit
    # can apply) on its own connection; the address's case varies.
    sources = [random_loopback() for _ in range(10)]
    with ThreadPoolExecutor(10) as pool:
        statuses = list(pool.map(
            lambda i: login(stack, email.upper() if i % 2 else email,
                            "wrong-password-%d" % i,
                            source=sources[i]).status, range(10)))
    assert statuses == [401] * 10
    assert stack.mariadb("SELECT COUNT(*) FROM rate_events WHERE bucket = "
                         "'%s'" % bucket) == [["10"]]
    # Which children refused them, from the error log's "login refused"
    # lines (pid and client address): whichever they were, the count
    # above is one shared figure.
    served = set()
    with open(stack.log_path("apache"), errors="replace") as f:
        for line in f:
            m = re.search(r"\[pid (\d+):tid \d+\] .*\[client "
                          r"([0-9.]+):\d+\].*login refused", line)
            if m and m.group(2) in sources:
                served.add(m.group(1))
    assert served, "the refusals should be in the error log"
    for source in (random_loopback(), random_loopback()):
        ans = login(stack, email, password, source=source)
        assert_error(ans, 429, "rate_limited")
        assert 1 <= int(ans.header("retry-after")) <= 15 * 60
    # Other accounts are untouched.
    other = unique_email("free")
    register(stack, email=other, password=password)
    assert login(stack, other, password).status == 200


def test_cased_spellings_of_an_address_share_its_account_limit(stack):
    """Addresses match case-insensitively ("ACCENT-..." logs in as
    "accent-..."), so the ten failures are the account's, whichever case
    each came in.  An accented spelling is another address (issue 15):
    it finds no account and spends none of this one's limit."""
    email = "accent-%s@example.com" % uuid.uuid4().hex[:10]
    password = "right-password-4"
    register(stack, email=email, password=password)
    for a in ("\u00e0", "\u00c0", "\u0101"):
        assert_error(login(stack, a + email[1:], password,
                           source=random_loopback()), 401,
                     "invalid_credentials")
    assert login(stack, email.upper(), password,
                 source=random_loopback()).status == 200
    spellings = [email.upper(), email.capitalize(), email.swapcase()] * 4
    for i, spelling in enumerate(spellings[:10]):
        ans = login(stack, spelling, "wrong-password-%d" % i,
                    source=random_loopback())
        assert_error(ans, 401, "invalid_credentials")
    assert_error(login(stack, email, password, source=random_loopback()),
                 429, "rate_limited")
    assert_error(login(stack, email.title(), password,
                       source=random_loopback()), 429, "rate_limited")


def test_a_burst_of_failures_gets_no_more_than_ten_guesses(stack):
    """Thirty wrong passwords for one account at the same moment, on
    separate connections (so on several Apache processes): at most ten may
    be judged, the rest are 429; the limit is one shared count."""
    email = unique_email("burst")
    password = "right-password-3"
    register(stack, email=email, password=password)
    with ThreadPoolExecutor(30) as pool:
        statuses = list(pool.map(
            lambda i: login(stack, email, "wrong-password-%d" % i).status,
            range(30)))
    assert set(statuses) <= {401, 429}, statuses
    assert statuses.count(401) <= 10, \
        "%d wrong passwords were checked, not at most 10" % \
        statuses.count(401)
    assert_error(login(stack, email, password), 429, "rate_limited")


def test_fifty_failures_from_one_address_lock_that_address(stack):
    source = random_loopback()
    email = unique_email("victim")
    password = "right-password-2"
    register(stack, email=email, password=password)
    with ThreadPoolExecutor(5) as pool:
        statuses = list(pool.map(
            lambda i: login(stack, unique_email("nobody%d" % i),
                            "whatever-%d" % i, source=source).status,
            range(50)))
    assert statuses == [401] * 50
    assert stack.mariadb("SELECT COUNT(*) FROM rate_events WHERE bucket = "
                         "'login:address:%s'" % source) == [["50"]]
    # The 51st attempt from that address, for an account with no failures
    # and with its right password, is refused; elsewhere it logs in.
    ans = login(stack, email, password, source=source)
    assert_error(ans, 429, "rate_limited")
    assert int(ans.header("retry-after")) >= 1
    assert login(stack, email, password, source=random_loopback()
                 ).status == 200


# -- the event log ------------------------------------------------------------

def events_page(stack, token, after, limit=None):
    path = "/api/admin/events?after=%d" % after
    if limit is not None:
        path += "&limit=%d" % limit
    ans = request(stack, "GET", path, headers=auth(token))
    assert ans.status == 200, ans
    return ans


def wait_for_events(stack, token, after, count, timeout=6):
    deadline = time.time() + timeout
    while True:
        entries = events_page(stack, token, after, 1000).json["data"]
        if len(entries) >= count or time.time() > deadline:
            return entries
        time.sleep(0.1)


def test_event_log_entries_are_the_websocket_messages(stack, admin_token):
    start = max_event_id(stack)

    async def scenario():
        ws = await ws_open(stack, "/admin?token=" + admin_token)
        try:
            assert (await ws_next(ws))["type"] == "connection"
            order = await asyncio.to_thread(place, stack)
            oid = order.json["data"]["id"]
            await asyncio.to_thread(
                request, stack, "PUT", "/api/admin/orders/%d/status" % oid,
                body={"status": "preparing"}, headers=auth(admin_token))
            return [await ws_next(ws), await ws_next(ws)]
        finally:
            await ws.close()

    live = run(scenario())
    assert [m["type"] for m in live] == ["newOrder", "orderStatusUpdate"]
    logged = wait_for_events(stack, admin_token, start, 2)
    assert len(logged) == 2, logged
    for entry, msg in zip(logged, live):
        parse_iso(entry["created_at"])
        rest = dict(entry)
        del rest["created_at"]
        assert rest == msg
    assert set(logged[0]) == {"type", "event_id", "order", "created_at"}
    assert set(logged[1]) == {"type", "event_id", "order", "status",
                              "previous_status", "created_at"}
    assert logged[1]["status"] == "preparing"
    assert logged[1]["previous_status"] == "pending"
    rows = stack.mariadb("SELECT id FROM events WHERE id > %d"
                         " AND type <> 'revoke' ORDER BY id" % start)
    assert [e["event_id"] for e in logged] == [int(r[0]) for r in rows]


def test_event_log_pages_and_validates(stack, admin_token):
    # Enough events for a full default page, whatever ran before.
    # (Revoke rows, from user changes, are no client's: the log skips them.)
    while int(stack.mariadb("SELECT COUNT(*) FROM events"
                            " WHERE type <> 'revoke'")[0][0]) < 105:
        place(stack)
    start = max_event_id(stack)
    for _ in range(3):
        place(stack)
    entries = wait_for_events(stack, admin_token, start, 3)
    ids = [e["event_id"] for e in entries]
    assert len(ids) == 3

    first = events_page(stack, admin_token, start, 2)
    assert [e["event_id"] for e in first.json["data"]] == ids[:2]
    assert first.json["meta"] == {"next_cursor": ids[1], "count": 2}
    second = events_page(stack, admin_token, first.json["meta"]["next_cursor"],
                         2)
    assert [e["event_id"] for e in second.json["data"]] == ids[2:]
    assert second.json["meta"] == {"next_cursor": None, "count": 1}

    # Default limit 100, and a full page names its last id as the cursor
    # (asked again while a gap younger than the horizon may hold it back).
    all_ids = [int(r[0]) for r in stack.mariadb(
        "SELECT id FROM events WHERE type <> 'revoke' ORDER BY id"
        " LIMIT 100")]
    deadline = time.time() + 4
    while True:
        page = request(stack, "GET", "/api/admin/events",
                       headers=auth(admin_token))
        assert page.status == 200, page
        data = page.json["data"]
        if len(data) == 100 or time.time() > deadline:
            break
        time.sleep(0.2)
    assert [e["event_id"] for e in data] == all_ids
    assert page.json["meta"] == {"next_cursor": all_ids[-1], "count": 100}
    assert events_page(stack, admin_token, 0, 1000).json["meta"][
        "count"] <= 1000
    assert len(events_page(stack, admin_token, 0, 1).json["data"]) == 1

    for query in ("limit=0", "limit=1001", "limit=-1", "limit=x",
                  "limit=", "after=-1", "after=abc", "after=1.5"):
        ans = request(stack, "GET", "/api/admin/events?" + query,
                      headers=auth(admin_token))
        assert_error(ans, 422, "validation_failed")
    assert_error(request(stack, "GET", "/api/admin/events"), 401)
    customer = register(stack)
    assert_error(request(stack, "GET", "/api/admin/events",
                         headers=auth(customer["token"])), 403)


def test_event_log_reads_are_monotonic_under_concurrent_writers(
        stack, admin_token):
    start = max_event_id(stack)
    stop = threading.Event()
    problems = []

    def writer():
        try:
            while not stop.is_set():
                ans = place(stack)
                oid = ans.json["data"]["id"]
                for status in ("preparing", "ready"):
                    put = request(stack, "PUT",
                                  "/api/admin/orders/%d/status" % oid,
                                  body={"status": status},
                                  headers=auth(admin_token))
                    assert put.status == 200, put
        except Exception as e:      # reported below, after the join
            problems.append(repr(e))

    seen = []
    last = start

    def read_once():
        nonlocal last
        ans = events_page(stack, admin_token, last, 1000)
        for entry in ans.json["data"]:
            eid = entry["event_id"]
            assert eid > last, "event %d after %d was already answered" % (
                eid, last)
            seen.append(eid)
            last = eid
        return len(ans.json["data"])

    threads = [threading.Thread(target=writer) for _ in range(6)]
    for t in threads:
        t.start()
    try:
        until = time.time() + 4
        while time.time() < until:
            read_once()
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not problems, problems
    time.sleep(2.3)                 # past the horizon (2 s)
    while read_once():
        pass
    expected = [int(r[0]) for r in stack.mariadb(
        "SELECT id FROM events WHERE id > %d AND type <> 'revoke'"
        " ORDER BY id" % start)]
    assert len(expected) > 30, "the writers wrote too little to tell"
    assert seen == expected


# -- the WebSocket figures ----------------------------------------------------

# The contract's fields, then what the daemon adds (objects may gain fields).
STATS_KEYS = {"connections", "peak_connections", "events_received",
              "messages_sent", "replays", "resyncs", "slow_clients_dropped",
              "uptime_seconds", "recycled", "revoked", "aged",
              "unverified", "refused_full", "refused_share", "handoffs",
              "late_handoffs", "sockets"}


def ws_stats(stack, token):
    ans = request(stack, "GET", "/api/admin/websocket/stats",
                  headers=auth(token))
    assert ans.status == 200, ans
    stats = ans.json["data"]
    assert set(stats) == STATS_KEYS, stats
    assert set(stats["connections"]) == {"admin", "order", "total"}
    assert set(stats["sockets"]) == {"handoff", "tunnel"}
    for key in STATS_KEYS - {"connections", "sockets"}:
        assert isinstance(stats[key], (int, float)) and stats[key] >= 0, key
    conns = stats["connections"]
    assert conns["total"] == conns["admin"] + conns["order"]
    assert stats["peak_connections"] >= conns["total"]
    return stats


def test_websocket_stats_count_an_admin_socket(stack, admin_token):
    staff, pw = create_user(stack, admin_token, "staff")
    staff_token = token_of(stack, staff["email"], pw)
    before = ws_stats(stack, staff_token)

    async def scenario():
        ws = await ws_open(stack, "/admin?token=" + admin_token)
        try:
            await ws_next(ws)
            return await asyncio.to_thread(ws_stats, stack, admin_token)
        finally:
            await ws.close()

    during = run(scenario())
    assert during["connections"]["admin"] == \
        before["connections"]["admin"] + 1
    assert during["connections"]["order"] == before["connections"]["order"]
    assert during["peak_connections"] >= during["connections"]["total"]
    assert during["uptime_seconds"] >= before["uptime_seconds"]
    deadline = time.time() + 5
    while ws_stats(stack, admin_token)["connections"]["admin"] != \
            before["connections"]["admin"]:
        assert time.time() < deadline, "the closed socket is still counted"
        time.sleep(0.1)
    customer = register(stack)
    assert_error(request(stack, "GET", "/api/admin/websocket/stats",
                         headers=auth(customer["token"])), 403)


def test_websocket_stats_503_while_the_daemon_is_down(stack, admin_token):
    stack.stop_eventd()
    try:
        ans = request(stack, "GET", "/api/admin/websocket/stats",
                      headers=auth(admin_token))
        assert_error(ans, 503, "events_unavailable")
    finally:
        stack.start_eventd()
    ws_stats(stack, admin_token)


# -- menu ---------------------------------------------------------------------

def menu_item(stack, item_id):
    found = [i for i in request(stack, "GET", "/api/menu").json["data"]
             if i["id"] == item_id]
    assert len(found) == 1, item_id
    return found[0]


def test_menu_create_keeps_prices_exact(stack, admin_token):
    name = "Khao Soi · ข้าวซอย %s" % uuid.uuid4().hex[:6]
    ans = request(stack, "POST", "/api/admin/menu",
                  body={"name": name, "description": "Curry noodles",
                        "category": "Noodles", "price": 12.34},
                  headers=auth(admin_token))
    assert ans.status == 201, ans
    item = ans.json["data"]
    assert set(item) >= {"id", "name", "description", "category", "price",
                         "available"}
    assert (item["name"], item["description"], item["category"],
            item["price"], item["available"]) == (
        name, "Curry noodles", "Noodles", 12.34, True)
    assert b'"price":12.34' in ans.body
    assert stack.mariadb("SELECT price_minor FROM menu_items WHERE id = %d"
                         % item["id"]) == [["1234"]]
    assert menu_item(stack, item["id"]) == item
    for price, minor in ((0, "0"), (1000000, "100000000"), (0.1, "10"),
                         (999999.99, "99999999")):
        ans = request(stack, "POST", "/api/admin/menu",
                      body={"name": "Edge %s" % price, "price": price,
                            "available": False},
                      headers=auth(admin_token))
        assert ans.status == 201, (price, ans)
        assert ans.json["data"]["price"] == price
        assert stack.mariadb("SELECT price_minor FROM menu_items WHERE id = "
                             "%d" % ans.json["data"]["id"]) == [[minor]]


@pytest.mark.parametrize("body, field", [
    ({"name": "Three decimals", "price": 1.234}, "price"),
    ({"name": "Negative", "price": -1}, "price"),
    ({"name": "Negative cents", "price": -0.01}, "price"),
    ({"name": "Too dear", "price": 1000000.01}, "price"),
    ({"name": "Far too dear", "price": 10000000}, "price"),
    ({"name": "Text price", "price": "10"}, "price"),
    ({"name": "No price"}, "price"),
    ({"price": 10}, "name"),
    ({"name": "  ", "price": 10}, "name"),
    ({"name": "x" * 101, "price": 10}, "name"),
])
def test_menu_create_validates(stack, admin_token, body, field):
    before = stack.mariadb("SELECT COUNT(*) FROM menu_items")
    ans = request(stack, "POST", "/api/admin/menu", body=body,
                  headers=auth(admin_token))
    assert_error(ans, 422, "validation_failed")
    assert field in detail_fields(ans), ans.json
    assert stack.mariadb("SELECT COUNT(*) FROM menu_items") == before


def test_menu_update_delete_and_past_orders(stack, admin_token):
    ans = request(stack, "POST", "/api/admin/menu",
                  body={"name": "Roti · โรตี", "description": "Banana",
                        "category": "Dessert", "price": 35.5},
                  headers=auth(admin_token))
    assert ans.status == 201, ans
    item = ans.json["data"]
    path = "/api/admin/menu/%d" % item["id"]
    order = place(stack, items=[{"menu_id": item["id"], "quantity": 2}]
                  ).json["data"]
    assert order["items"][0]["menu_name"] == "Roti · โรตี"
    assert order["total"] == 71

    # Partial updates: what is not named stays.
    ans = request(stack, "PUT", path, body={"price": 40},
                  headers=auth(admin_token))
    assert ans.status == 200, ans
    assert ans.json["data"] == dict(item, price=40)
    ans = request(stack, "PUT", path, body={"name": "Roti Deluxe"},
                  headers=auth(admin_token))
    assert ans.status == 200, ans
    assert ans.json["data"] == dict(item, price=40, name="Roti Deluxe")
    assert menu_item(stack, item["id"]) == ans.json["data"]
    assert_error(request(stack, "PUT", path, body={"price": 1.005},
                         headers=auth(admin_token)), 422)

    ans = request(stack, "DELETE", path, headers=auth(admin_token))
    assert ans.status == 200, ans
    assert ans.json["success"] is True
    assert ans.json["data"]["available"] is False
    assert stack.mariadb("SELECT available FROM menu_items WHERE id = %d"
                         % item["id"]) == [["0"]]
    assert menu_item(stack, item["id"]) == dict(item, price=40,
                                                name="Roti Deluxe",
                                                available=False)
    # The past order keeps the name and price it was sold at.
    past = request(stack, "GET", "/api/admin/orders/%d" % order["id"],
                   headers=auth(admin_token)).json["data"]
    assert [(i["menu_id"], i["menu_name"], i["price"], i["subtotal"])
            for i in past["items"]] == [(item["id"], "Roti · โรตี", 35.5, 71)]
    assert past["total"] == 71
    # New orders with it are refused.
    refused = place(stack, items=[{"menu_id": item["id"], "quantity": 1}],
                    expect=422)
    assert "items[0].menu_id" in detail_fields(refused)

    for method, body in (("PUT", {"price": 1}), ("DELETE", None)):
        ans = request(stack, method, "/api/admin/menu/999999999", body=body,
                      headers=auth(admin_token))
        assert_error(ans, 404, "not_found")
    customer = register(stack)
    for method, p, body in (("POST", "/api/admin/menu",
                             {"name": "X", "price": 1}),
                            ("PUT", path, {"price": 1}),
                            ("DELETE", path, None)):
        assert_error(request(stack, method, p, body=body,
                             headers=auth(customer["token"])), 403)
        assert_error(request(stack, method, p, body=body), 401)


# -- shop settings ------------------------------------------------------------

def test_shop_settings_and_closing_the_shop(stack, admin_token):
    original = request(stack, "GET", "/api/shop").json["data"]
    try:
        change = {"name": "Contract Café · ร้านทดสอบ", "currency": "USD",
                  "timezone": "Europe/London", "accepting_orders": True}
        ans = request(stack, "PUT", "/api/admin/shop", body=change,
                      headers=auth(admin_token))
        assert ans.status == 200, ans
        assert ans.json["data"] == change
        assert request(stack, "GET", "/api/shop").json["data"] == change
        assert place(stack).json["data"]["currency"] == "USD"

        for bad, field in (({"timezone": "Mars/Olympus"}, "timezone"),
                           ({"timezone": ""}, "timezone"),
                           ({"timezone": "SYSTEM"}, "timezone"),
                           ({"timezone": "system"}, "timezone"),
                           ({"currency": "thb"}, "currency"),
                           ({"currency": "TH"}, "currency"),
                           ({"currency": "THBB"}, "currency"),
                           ({"currency": "T1B"}, "currency"),
                           ({"accepting_orders": "no"}, "accepting_orders"),
                           ({}, None)):
            ans = request(stack, "PUT", "/api/admin/shop", body=bad,
                          headers=auth(admin_token))
            assert_error(ans, 422, "validation_failed")
            if field:
                assert field in detail_fields(ans), (bad, ans.json)
        assert request(stack, "GET", "/api/shop").json["data"] == change

        ans = request(stack, "PUT", "/api/admin/shop",
                      body={"accepting_orders": False},
                      headers=auth(admin_token))
        assert ans.status == 200, ans
        assert ans.json["data"] == dict(change, accepting_orders=False)
        before = stack.mariadb("SELECT COUNT(*) FROM orders")
        assert_error(place(stack, expect=409), 409, "shop_closed")
        assert stack.mariadb("SELECT COUNT(*) FROM orders") == before

        customer = register(stack)
        assert_error(request(stack, "PUT", "/api/admin/shop",
                             body={"accepting_orders": True},
                             headers=auth(customer["token"])), 403)
    finally:
        ans = request(stack, "PUT", "/api/admin/shop", body=original,
                      headers=auth(admin_token))
        if ans.status != 200:
            stack.mariadb(
                "UPDATE shop SET name = '%s', currency = '%s', timezone = "
                "'%s', accepting_orders = %s WHERE id = 1"
                % (original["name"].replace("'", "''"), original["currency"],
                   original["timezone"],
                   "TRUE" if original["accepting_orders"] else "FALSE"))
    assert request(stack, "GET", "/api/shop").json["data"] == original
    assert place(stack).status == 201


# -- the day's summary --------------------------------------------------------

def shop_today(stack):
    return stack.mariadb("SELECT DATE(CONVERT_TZ(UTC_TIMESTAMP(3), "
                         "'+00:00', timezone)) FROM shop WHERE id = 1")[0][0]


def summary(stack, token, day):
    ans = request(stack, "GET", "/api/admin/summary?date=" + day,
                  headers=auth(token))
    assert ans.status == 200, ans
    return ans.json["data"]


def test_summary_matches_the_database(stack, admin_token):
    day = shop_today(stack)
    before = summary(stack, admin_token, day)
    kept = [place(stack, items=[{"menu_id": 1, "quantity": 2},
                                {"menu_id": 9, "quantity": 1}]).json["data"],
            place(stack, items=[{"menu_id": 2, "quantity": 3}]).json["data"]]
    dropped = place(stack, items=[{"menu_id": 3, "quantity": 4}]).json["data"]
    assert request(stack, "POST", "/api/orders/%d/cancel?tracking_token=%s"
                   % (dropped["id"], dropped["tracking_token"])).status == 200
    moved = request(stack, "PUT", "/api/admin/orders/%d/status"
                    % kept[1]["id"], body={"status": "ready"},
                    headers=auth(admin_token))
    assert moved.status == 200, moved

    ans = request(stack, "GET", "/api/admin/summary?date=" + day,
                  headers=auth(admin_token))
    assert ans.status == 200, ans
    got = ans.json["data"]
    assert set(got) == {"date", "orders", "by_status", "revenue", "items"}
    assert got["date"] == day
    # The orders just placed, seen as a difference.
    assert got["orders"] == before["orders"] + 3
    assert got["by_status"]["cancelled"] == \
        before["by_status"]["cancelled"] + 1
    assert got["by_status"]["ready"] == before["by_status"]["ready"] + 1
    assert round((got["revenue"] - before["revenue"]) * 100) == \
        round(sum(o["total"] for o in kept) * 100)

    # And all of it against SQL over the same day.
    rows = stack.mariadb("SELECT status, COUNT(*), SUM(total_minor) FROM "
                         "orders WHERE shop_date = '%s' GROUP BY status" % day)
    by_status = {s: 0 for s in ("pending", "preparing", "ready", "completed",
                                "cancelled")}
    by_status.update({r[0]: int(r[1]) for r in rows})
    assert got["by_status"] == by_status
    assert got["orders"] == sum(by_status.values())
    revenue = sum(int(r[2]) for r in rows if r[0] != "cancelled")
    assert round(got["revenue"] * 100) == revenue
    item_rows = stack.mariadb(
        "SELECT i.menu_id, SUM(i.quantity), SUM(i.quantity * i.price_minor) "
        "FROM order_items i JOIN orders o ON o.id = i.order_id "
        "WHERE o.shop_date = '%s' AND o.status <> 'cancelled' "
        "GROUP BY i.menu_id" % day)
    assert {i["menu_id"]: (i["quantity"], round(i["revenue"] * 100))
            for i in got["items"]} == \
        {int(r[0]): (int(r[1]), int(r[2])) for r in item_rows}
    assert len(got["items"]) == len(item_rows)
    names = {int(r[0]): r[1] for r in stack.mariadb(
        "SELECT DISTINCT i.menu_id, i.menu_name FROM order_items i JOIN "
        "orders o ON o.id = i.order_id WHERE o.shop_date = '%s'" % day)}
    for item in got["items"]:
        assert set(item) == {"menu_id", "name", "quantity", "revenue"}
        assert item["name"] == names[item["menu_id"]] or item["name"] in [
            r[0] for r in stack.mariadb(
                "SELECT menu_name FROM order_items WHERE menu_id = %d"
                % item["menu_id"])]

    # The default day is the shop's today.
    default = request(stack, "GET", "/api/admin/summary",
                      headers=auth(admin_token))
    assert default.status == 200 and default.json["data"]["date"] == day
    empty = summary(stack, admin_token, "2099-01-01")
    assert (empty["orders"], empty["revenue"], empty["items"]) == (0, 0, [])
    assert set(empty["by_status"].values()) == {0}


@pytest.mark.parametrize("day", ["2026-13-01", "2026-02-30", "yesterday",
                                 "20260101", "2026-1-01", ""])
def test_summary_refuses_a_bad_date(stack, admin_token, day):
    ans = request(stack, "GET", "/api/admin/summary?date=" + day,
                  headers=auth(admin_token))
    assert_error(ans, 422, "validation_failed")


def test_summary_as_csv(stack, admin_token):
    day = shop_today(stack)
    tricky = 'Som, "Tam" · ส้มตำ'
    formula = "=HYPERLINK(\"http://evil.example\")"
    ids = {place(stack, name=tricky).json["data"]["id"]: tricky,
           place(stack, name=formula).json["data"]["id"]: formula}
    ans = request(stack, "GET", "/api/admin/summary?date=" + day,
                  headers=dict(auth(admin_token), Accept="text/csv"))
    assert ans.status == 200, ans
    assert ans.header("content-type").startswith("text/csv"), ans.headers
    text = ans.body.decode("utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    header, lines = rows[0], rows[1:]
    assert "id" in header and len(header) >= 3, header
    count = int(stack.mariadb("SELECT COUNT(*) FROM orders WHERE shop_date "
                              "= '%s'" % day)[0][0])
    assert len(lines) == count
    assert all(len(line) == len(header) for line in lines)
    col = header.index("id")
    by_id = {int(line[col]): line for line in lines}
    assert len(by_id) == count
    assert set(ids) <= set(by_id)
    assert tricky in by_id[min(ids)]          # escaped, and read back whole
    assert '"Som, ""Tam"" · ส้มตำ"' in text
    formula_row = by_id[max(ids)]
    # No cell may start with '=' (a spreadsheet would run it).
    for line in lines:
        for cell in line:
            assert not cell.startswith(("=", "+", "@")), cell
    assert any("HYPERLINK" in cell for cell in formula_row)


# -- CORS ---------------------------------------------------------------------

def header_list(value):
    return {v.strip().lower() for v in (value or "").split(",") if v.strip()}


def test_cors_preflight_from_a_listed_origin(stack):
    origin = "http://localhost:5173"
    ans = request(stack, "OPTIONS", "/api/orders", headers={
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type"})
    assert ans.status == 204, ans
    assert ans.header("access-control-allow-origin") == origin
    assert ans.header("access-control-allow-credentials") == "true"
    assert {"authorization", "content-type"} <= header_list(
        ans.header("access-control-allow-headers"))
    assert "post" in header_list(ans.header("access-control-allow-methods"))
    assert "origin" in header_list(ans.header("vary"))


def test_cors_exposes_headers_to_a_listed_origin(stack):
    origin = "http://localhost:5173"
    ans = request(stack, "GET", "/api/menu", headers={"Origin": origin})
    assert ans.status == 200, ans
    assert ans.header("access-control-allow-origin") == origin
    assert ans.header("access-control-allow-credentials") == "true"
    assert {"retry-after", "location", "etag"} <= header_list(
        ans.header("access-control-expose-headers"))
    # Errors carry them too, or a browser could not read the envelope.
    err = request(stack, "GET", "/api/admin/orders",
                  headers={"Origin": origin})
    assert err.status == 401
    assert err.header("access-control-allow-origin") == origin


@pytest.mark.parametrize("origin", ["http://evil.example",
                                    "http://localhost.evil.example",
                                    "http://localhost:5173.evil.example",
                                    "https://localhost:5173", "null"])
def test_cors_ignores_an_unlisted_origin(stack, origin):
    pre = request(stack, "OPTIONS", "/api/orders", headers={
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type"})
    get = request(stack, "GET", "/api/menu", headers={"Origin": origin})
    assert get.status == 200
    for ans in (pre, get):
        assert ans.header("access-control-allow-origin") is None, ans.headers
        assert ans.header("access-control-allow-credentials") is None


# -- Apache's own errors ------------------------------------------------------

def test_trace_is_refused_by_apache_with_the_envelope(stack):
    ans = request(stack, "TRACE", "/api/menu")
    assert_error(ans, 405)
    assert ans.json["error"]["code"] == "method_not_allowed"
    # TRACE must not echo the request back.
    assert b"TRACE /api/menu" not in ans.body
