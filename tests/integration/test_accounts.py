# SPDX-License-Identifier: Apache-2.0
"""Accounts against the security review (issue 15): look-alike addresses
are accounts of their own, create-admin never promotes an account, a token
carries its user's token version (a password, role or disabled change
ends every older token, REST and WebSocket alike), and revocations travel
in the event outbox: a revoke datagram that is lost still ends the user's
sockets, and revoke rows stay out of the event log."""

import asyncio
import os
import signal
import socket
import subprocess
import time
import uuid


import stack as stackmod
from client import (auth, jwt_secret, make_jwt, place_order, request, run,
                    token_of, until_closed, upgrade_status, ws_next, ws_open)
from conftest import CHECKOUT, running_stack


def tag():
    return uuid.uuid4().hex[:10]


def register(stack, email, password="customer-pass-1", name="Customer"):
    return request(stack, "POST", "/api/auth/register",
                   body={"name": name, "email": email, "password": password})


def login(stack, email, password):
    return request(stack, "POST", "/api/auth/login",
                   body={"email": email, "password": password})


def create_user(stack, admin_token, role, email=None, password=None):
    email = email or "acct-%s-%s@shop.example" % (role, tag())
    password = password or "pw-" + tag()
    ans = request(stack, "POST", "/api/admin/users", body={
        "name": "Account %s" % role, "email": email, "password": password,
        "role": role}, headers=auth(admin_token))
    assert ans.status == 201, ans
    return ans.json["data"]["user"], password


def create_admin(stack, email, password):
    """schema/create-admin against the stack's database."""
    env = dict(os.environ, TIMING_ADMIN_PASSWORD=password)
    return subprocess.run(
        [os.path.join(CHECKOUT, "schema", "create-admin"), stackmod.DB_NAME,
         email, "--socket=" + stack.db_socket, "--user=" + stack.os_user],
        env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)


def event_of_order(stack, order_id):
    return int(stack.mariadb("SELECT MAX(id) FROM events WHERE order_id = %d"
                             % order_id)[0][0])


# -- 1. look-alike addresses ----------------------------------------------

def test_a_look_alike_address_is_an_account_of_its_own(stack, admin_token):
    t = tag()
    real, fake = "boss-%s@shop.example" % t, "b\u00f3ss-%s@shop.example" % t
    ans = register(stack, fake, "attacker-pass-1")
    assert ans.status == 201, ans
    attacker_id = ans.json["data"]["user"]["id"]

    # The accent makes another address: the real one can still be made.
    boss, pw = create_user(stack, admin_token, "admin", email=real)
    assert boss["email"] == real and boss["id"] != attacker_id

    # Case still does not: typed in capitals it is the same account.
    ans = register(stack, real.upper())
    assert ans.status == 409 and ans.json["error"]["code"] == "email_taken"
    ans = login(stack, "Boss-%s@Shop.Example" % t, pw)
    assert ans.status == 200, ans
    assert ans.json["data"]["user"]["id"] == boss["id"]
    assert ans.json["data"]["user"]["role"] == "admin"
    # ...and the look-alike logs into its own account only.
    assert login(stack, fake, pw).status == 401
    ans = login(stack, fake.upper(), "attacker-pass-1")
    assert ans.status == 200 and ans.json["data"]["user"]["id"] == attacker_id


def test_addresses_are_stored_normalised(stack):
    email = "Mixed.Case-%s@Shop.Example" % tag()
    ans = register(stack, "  %s " % email)
    assert ans.status == 201, ans
    assert ans.json["data"]["user"]["email"] == email.lower()
    assert stack.mariadb("SELECT email FROM users WHERE id = %d"
                         % ans.json["data"]["user"]["id"]) == [[email.lower()]]


def test_the_email_column_compares_exactly(stack):
    assert stack.mariadb(
        "SELECT COLLATION_NAME FROM information_schema.COLUMNS"
        " WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'users'"
        " AND COLUMN_NAME = 'email'") == [["utf8mb4_bin"]]


# -- create-admin -----------------------------------------------------------

def test_create_admin_refuses_to_promote_a_customer_or_staff(stack,
                                                             admin_token):
    email = "victim-%s@shop.example" % tag()
    ans = register(stack, email, "customer-pass-1")
    assert ans.status == 201, ans
    customer_token = ans.json["data"]["token"]
    staff, _ = create_user(stack, admin_token, "staff")

    for address, role in ((email, "customer"), (staff["email"].upper(),
                                                 "staff")):
        res = create_admin(stack, address, "new-admin-pass-1")
        assert res.returncode != 0, res
        assert "create-admin:" in res.stderr and role in res.stderr, res
        assert stack.mariadb("SELECT role FROM users WHERE email = '%s'"
                             % address.lower()) == [[role]]
    assert request(stack, "GET", "/api/admin/orders",
                   headers=auth(customer_token)).status == 403


def test_create_admin_beside_a_look_alike_makes_a_new_admin(stack):
    t = tag()
    real, fake = "owner-%s@shop.example" % t, "\u00f3wner-%s@shop.example" % t
    ans = register(stack, fake, "attacker-pass-1")
    assert ans.status == 201, ans
    attacker = ans.json["data"]

    res = create_admin(stack, real, "owner-pass-123")
    assert res.returncode == 0, res
    # The attacker's row and token are untouched; the owner is a new row.
    assert request(stack, "GET", "/api/admin/orders",
                   headers=auth(attacker["token"])).status == 403
    assert stack.mariadb("SELECT role FROM users WHERE id = %d"
                         % attacker["user"]["id"]) == [["customer"]]
    ans = login(stack, real, "owner-pass-123")
    assert ans.status == 200, ans
    assert ans.json["data"]["user"]["role"] == "admin"
    assert ans.json["data"]["user"]["id"] != attacker["user"]["id"]


def test_create_admin_resets_an_admin_password_and_ends_old_tokens(
        stack, admin_token):
    admin, pw = create_user(stack, admin_token, "admin")
    old = token_of(stack, admin["email"], pw)
    assert request(stack, "GET", "/api/auth/me", headers=auth(old)).status \
        == 200

    res = create_admin(stack, admin["email"].upper(), "reset-pass-123")
    assert res.returncode == 0, res
    assert request(stack, "GET", "/api/auth/me", headers=auth(old)).status \
        == 401
    assert login(stack, admin["email"], pw).status == 401
    ans = login(stack, admin["email"], "reset-pass-123")
    assert ans.status == 200 and ans.json["data"]["user"]["id"] == admin["id"]


# -- token versions -----------------------------------------------------------

def test_a_password_or_role_change_ends_older_tokens(stack, admin_token):
    staff, pw = create_user(stack, admin_token, "staff")
    path = "/api/admin/users/%d" % staff["id"]
    before = token_of(stack, staff["email"], pw)

    # A new name does not end anything.
    ans = request(stack, "PATCH", path, body={"name": "Renamed"},
                  headers=auth(admin_token))
    assert ans.status == 200, ans
    assert request(stack, "GET", "/api/auth/me",
                   headers=auth(before)).status == 200

    ans = request(stack, "PATCH", path, body={"password": "changed-pass-1"},
                  headers=auth(admin_token))
    assert ans.status == 200, ans
    for method, p in (("GET", "/api/auth/me"), ("GET", "/api/admin/orders"),
                      ("GET", "/api/menu")):
        assert request(stack, method, p, headers=auth(before)).status == 401
    assert upgrade_status(stack, "/admin?token=" + before) == 401

    middle = token_of(stack, staff["email"], "changed-pass-1")
    assert upgrade_status(stack, "/admin?token=" + middle) == 101
    ans = request(stack, "PATCH", path, body={"role": "admin"},
                  headers=auth(admin_token))
    assert ans.status == 200, ans
    assert request(stack, "GET", "/api/auth/me",
                   headers=auth(middle)).status == 401
    assert upgrade_status(stack, "/admin?token=" + middle) == 401
    after = token_of(stack, staff["email"], "changed-pass-1")
    ans = request(stack, "GET", "/api/admin/users", headers=auth(after))
    assert ans.status == 200, ans


def test_a_token_without_a_version_counts_as_the_first(stack, admin_token):
    staff, _ = create_user(stack, admin_token, "staff")
    legacy = make_jwt(jwt_secret(stack), sub=str(staff["id"]), role="staff")
    assert request(stack, "GET", "/api/auth/me",
                   headers=auth(legacy)).status == 200
    assert upgrade_status(stack, "/admin?token=" + legacy) == 101
    # A version that is not a count is no version.
    for tv in ("0", -1, 1.5):
        odd = make_jwt(jwt_secret(stack), sub=str(staff["id"]), role="staff",
                       tv=tv)
        assert request(stack, "GET", "/api/auth/me",
                       headers=auth(odd)).status == 401, tv

    ans = request(stack, "PATCH", "/api/admin/users/%d" % staff["id"],
                  body={"password": "changed-pass-1"},
                  headers=auth(admin_token))
    assert ans.status == 200, ans
    assert request(stack, "GET", "/api/auth/me",
                   headers=auth(legacy)).status == 401
    assert upgrade_status(stack, "/admin?token=" + legacy) == 401


def test_a_password_change_ends_the_users_sockets(stack, admin_token):
    staff, pw = create_user(stack, admin_token, "staff")
    token = token_of(stack, staff["email"], pw)

    async def scenario():
        ws = await ws_open(stack, "/admin?token=" + token)
        await ws_next(ws)
        ans = await asyncio.to_thread(
            request, stack, "PATCH", "/api/admin/users/%d" % staff["id"],
            body={"password": "changed-pass-1"}, headers=auth(admin_token))
        assert ans.status == 200, ans
        return await until_closed(ws, 10)

    got, code = run(scenario())
    assert '{"type":"disconnect","reason":"auth"}' in got
    assert code == 1008


# -- 2. revocations in the outbox -------------------------------------------

def test_revoke_rows_stay_out_of_the_event_log_and_never_delay_it(
        stack, admin_token):
    staff, pw = create_user(stack, admin_token, "staff")
    first = place_order(stack, "Accounts")["id"]
    first_event = event_of_order(stack, first)
    ans = request(stack, "PATCH", "/api/admin/users/%d" % staff["id"],
                  body={"disabled": True}, headers=auth(admin_token))
    assert ans.status == 200, ans
    # The revocation is an outbox row, after the order's event.
    revoke = stack.mariadb("SELECT id, order_id FROM events WHERE id > %d"
                           " AND type = 'revoke'" % first_event)
    assert revoke, "no revoke row was written"
    revoke_id = int(revoke[-1][0])

    # The newest event a staff socket is told of is one it may resume
    # from: the order's, not the hidden row.
    async def connect():
        ws = await ws_open(stack, "/admin?token=" + admin_token)
        hello = await ws_next(ws)
        await ws.close()
        return hello

    if revoke_id == int(stack.mariadb("SELECT MAX(id) FROM events")[0][0]):
        assert run(connect())["last_event_id"] < revoke_id

    second = place_order(stack, "Accounts")["id"]
    second_event = event_of_order(stack, second)
    # At once, without waiting for the horizon: the hidden row is no gap.
    for limit in (1, 100):
        ans = request(stack, "GET", "/api/admin/events?after=%d&limit=%d"
                      % (first_event, limit), headers=auth(admin_token))
        assert ans.status == 200, ans
        ids = [e["event_id"] for e in ans.json["data"]]
        assert revoke_id not in ids
        assert all(e["type"] in ("newOrder", "orderStatusUpdate")
                   for e in ans.json["data"])
        assert ids and ids[0] == second_event, (limit, ids)
    ans = request(stack, "GET", "/api/admin/events?after=%d&limit=1"
                  % (revoke_id - 1), headers=auth(admin_token))
    assert [e["event_id"] for e in ans.json["data"]] == [second_event]


def test_a_lost_revoke_still_ends_the_users_sockets(tmp_root):
    with running_stack(tmp_root, "accounts-lost-revoke") as s:
        admin = token_of(s, s.admin_email, s.admin_password)
        staff, pw = create_user(s, admin, "staff")
        token = token_of(s, staff["email"], pw)
        eventd = s.procs["eventd"].pid

        async def scenario():
            ws = await ws_open(s, "/admin?token=" + token)
            await ws_next(ws)
            # A shop that has been running: the daemon has seen an id.
            await asyncio.to_thread(place_order, s, "Accounts")
            assert (await ws_next(ws))["type"] == "newOrder"
            # Lose exactly the revoke: the daemon stops reading and its
            # queue of datagrams is filled, so mod_timing's send of the
            # revoke gives up.
            os.kill(eventd, signal.SIGSTOP)
            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as f:
                    f.connect(s.event_socket)
                    f.setblocking(False)
                    for _ in range(100000):
                        try:
                            f.send(b"filler")
                        except BlockingIOError:
                            break
                    ans = await asyncio.to_thread(
                        request, s, "PATCH",
                        "/api/admin/users/%d" % staff["id"],
                        body={"disabled": True}, headers=auth(admin))
                    assert ans.status == 200, ans
            finally:
                os.kill(eventd, signal.SIGCONT)
            # Life goes on: the next event shows that one went missing.
            await asyncio.to_thread(place_order, s, "Accounts")
            started = time.monotonic()
            got, code = await until_closed(ws, 20)
            return got, code, time.monotonic() - started

        got, code, took = run(scenario())
        assert code in (1008, 1012), (got, code)
        assert any('"disconnect"' in m for m in got), got
        # And it cannot come back: its token is no longer good.
        assert upgrade_status(s, "/admin?token=" + token) == 401
        log = open(s.log_path("apache"), errors="replace").read()
        assert "TM00404" in log or "not told" in log, \
            "the revoke was not lost after all"


# -- migration 004 ------------------------------------------------------------

def test_migration_004_stops_on_addresses_that_would_become_one(stack,
                                                                tmp_path):
    """Two rows that one address once lower-cased and trimmed: the
    migration changes nothing and names them; once one is gone it
    applies, lower-casing the rest."""
    import shutil
    db = "timing_mig_" + tag()
    schema = tmp_path / "schema"
    (schema / "migrations").mkdir(parents=True)
    shutil.copy(os.path.join(CHECKOUT, "schema", "migrate"), schema)
    here = os.path.join(CHECKOUT, "schema", "migrations")
    for name in sorted(os.listdir(here)):
        if name < "004":
            shutil.copy(os.path.join(here, name), schema / "migrations")

    def migrate():
        return subprocess.run(
            [str(schema / "migrate"), db, "--socket=" + stack.db_socket,
             "--user=" + stack.os_user], capture_output=True, text=True)

    stack.mariadb("CREATE DATABASE %s CHARACTER SET utf8mb4 "
                  "COLLATE utf8mb4_unicode_ci" % db, database=None)
    try:
        assert migrate().returncode == 0
        stack.mariadb(
            "INSERT INTO users (id, name, email, password_hash, role,"
            " created_at, updated_at) VALUES"
            " (11, 'a', 'Boss@Shop.Example', 'x', 'admin', NOW(), NOW()),"
            " (12, 'b', ' boss@shop.example', 'x', 'customer', NOW(), NOW()),"
            " (13, 'c', 'Other@Shop.Example', 'x', 'customer', NOW(),"
            " NOW())", database=db)
        shutil.copy(os.path.join(here, "004_accounts.sql"),
                    schema / "migrations")
        res = migrate()
        assert res.returncode != 0
        assert "ids 11,12" in res.stderr, res.stderr
        assert stack.mariadb("SELECT COUNT(*) FROM schema_migrations"
                             " WHERE version = 4", database=db) == [["0"]]
        assert stack.mariadb("SELECT email FROM users ORDER BY id",
                             database=db) == [["Boss@Shop.Example"],
                                              [" boss@shop.example"],
                                              ["Other@Shop.Example"]]

        stack.mariadb("DELETE FROM users WHERE id = 12", database=db)
        res = migrate()
        assert res.returncode == 0, res.stderr
        assert stack.mariadb("SELECT id, email, token_version FROM users"
                             " ORDER BY id", database=db) == [
            ["11", "boss@shop.example", "0"],
            ["13", "other@shop.example", "0"]]
    finally:
        stack.mariadb("DROP DATABASE IF EXISTS %s" % db, database=None)
