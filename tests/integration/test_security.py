# SPDX-License-Identifier: Apache-2.0
"""Security properties end to end, on a stack of its own with several small
Apache processes (8 threads each), so that connections land on different
processes:

- no order can be read, cancelled or watched by guessing its id;
- forged tokens (alg none, HS512, RS256-shaped, a wrong key, expired, a
  wrong issuer, a role edited under a kept signature) are refused on the
  WebSocket upgrade of both channels, for the very user they claim to be;
- client-sent X-Timing-* headers never reach the daemon;
- SQL metacharacters and unusual Unicode in every text field are stored
  and returned byte for byte;
- the login limit is one count across Apache's processes;
- other local users cannot reach timing-eventd's sockets.

The REST side of forged tokens on every route is test_hostile.py's battery
(and test_api_basics.py's TestCredentials); this file covers the upgrade."""

import base64
import json
import os
import re
import socket
import subprocess
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from client import (admin_login, auth, b64url, jwt_secret, make_jwt,
                    place_order, random_loopback, request, run, ws_next,
                    ws_open)
from conftest import make_stack
import stack as stackmod


@pytest.fixture(scope="module")
def sec(tmp_root):
    s = make_stack(os.path.join(tmp_root, "security"), defines={
        "TIMING_THREADS_PER_CHILD": "8", "TIMING_START_SERVERS": "4",
        "TIMING_MAX_WORKERS": "64", "TIMING_SERVER_LIMIT": "16"})
    s.start()
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="module")
def admin(sec):
    return admin_login(sec)


def register(stack, name="Customer"):
    ans = request(stack, "POST", "/api/auth/register", body={
        "name": name, "email": "sec-%s@example.com" % uuid.uuid4().hex[:12],
        "password": "customer-pass-1"})
    assert ans.status == 201, ans
    return ans.json["data"]


def place(stack, token=None, name="ลูกค้า"):
    return place_order(stack, name, phone="0812345678", token=token)


def upgrade_status(stack, path, protocols=None, headers=None):
    """The status line's code of a WebSocket upgrade on a raw socket."""
    lines = ["GET %s HTTP/1.1" % path, "Host: 127.0.0.1:%d" % stack.port,
             "Upgrade: websocket", "Connection: Upgrade",
             "Sec-WebSocket-Key: " + base64.b64encode(os.urandom(16)).decode(),
             "Sec-WebSocket-Version: 13"]
    if protocols:
        lines.append("Sec-WebSocket-Protocol: " + ", ".join(protocols))
    for k, v in (headers or {}).items():
        lines.append("%s: %s" % (k, v))
    with socket.create_connection(("127.0.0.1", stack.port), timeout=15,
                                  source_address=(random_loopback(), 0)) as s:
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = b""
        while b"\r\n" not in head:
            chunk = s.recv(4096)
            if not chunk:
                break
            head += chunk
    return int(head.split()[1])


# -- order ids are not a credential ------------------------------------------

def test_no_order_is_readable_by_guessing_its_id(sec, admin):
    """Every id from 1 to past the newest: the status and cancel answer
    404 to no credential, to another customer's token and to another
    order's tracking token (in the query or the cookie), exactly as for an
    id that does not exist; the customer channel refuses the upgrade the
    same way for existing and missing ids."""
    owner = register(sec)
    stranger = register(sec)
    for i in range(20):
        place(sec, owner["token"] if i % 2 else None, "เดา %d" % i)
    other = place(sec, stranger["token"])
    newest = int(sec.mariadb("SELECT MAX(id) FROM orders")[0][0])
    before = sec.mariadb("SELECT id, status, version FROM orders ORDER BY id")
    ids = [i for i in range(1, newest + 4) if i != other["id"]]
    wrong = other["tracking_token"]

    def probe(oid):
        out = []
        creds = [("none", {}, ""),
                 ("stranger's token", auth(stranger["token"]), ""),
                 ("another tracking token", {}, "?tracking_token=" + wrong),
                 ("another order's cookie",
                  {"Cookie": "timing_track_%d=%s" % (oid, wrong)}, "")]
        for label, headers, query in creds:
            for method, path in (("GET", "/api/orders/%d/status"),
                                 ("POST", "/api/orders/%d/cancel")):
                ans = request(sec, method, path % oid + query,
                              headers=headers)
                if ans.status != 404 or ans.json["error"]["code"] != \
                        "not_found":
                    out.append((oid, label, method, ans))
        # The upgrade: no credential is a 401, a credential that does not
        # open the order a 404 -- the same for ids that exist and not.
        for label, expect, protocols, query in (
                ("none", 401, ["timing.v1"], ""),
                ("stranger's token", 404,
                 ["timing.v1", "bearer." + stranger["token"]], ""),
                ("another tracking token", 404,
                 ["timing.v1", "tracking." + wrong], ""),
                ("another tracking token in the query", 404, None,
                 "?tracking_token=" + wrong)):
            got = upgrade_status(sec, "/orders/%d%s" % (oid, query),
                                 protocols)
            if got != expect:
                out.append((oid, "upgrade " + label, got))
        return out

    with ThreadPoolExecutor(8) as pool:
        problems = [p for part in pool.map(probe, ids) for p in part]
    assert not problems, problems[:20]
    # Nothing was cancelled or changed by all those attempts.
    assert sec.mariadb("SELECT id, status, version FROM orders "
                       "ORDER BY id") == before
    # And the same requests with the right credential do open them.
    mine = place(sec, owner["token"])
    assert request(sec, "GET", "/api/orders/%d/status" % mine["id"],
                   headers=auth(owner["token"])).status == 200
    assert upgrade_status(sec, "/orders/%d" % mine["id"],
                          ["timing.v1", "bearer." + owner["token"]]) == 101
    assert upgrade_status(sec, "/orders/%d" % mine["id"],
                          ["timing.v1", "tracking." + mine["tracking_token"]]
                          ) == 101


# -- forged tokens on the upgrade ---------------------------------------------

def forged(secret, claims):
    """Tokens that claim `claims` but must not be believed."""
    real = make_jwt(secret, claims)
    head, payload, sig = real.split(".")
    edited = json.loads(base64.urlsafe_b64decode(payload + "=="))
    if edited["role"] != "admin":
        edited["role"] = "admin"
    else:
        edited["sub"] = str(int(edited["sub"]) + 1)    # another admin
    return {
        "alg none": make_jwt(secret, claims, header={"alg": "none",
                                                     "typ": "JWT"}),
        "alg none, signature kept": make_jwt(
            secret, claims, header={"alg": "none", "typ": "JWT"}) + sig,
        "HS512 with the right key": make_jwt(
            secret, claims, header={"alg": "HS512", "typ": "JWT"}),
        "RS256-shaped": make_jwt(secret, claims,
                                 header={"alg": "RS256", "typ": "JWT"}),
        "wrong key": make_jwt(secret, claims, key="w" * 64),
        "expired": make_jwt(secret, dict(claims, iat=1700000000,
                                         exp=1700003600)),
        "wrong issuer": make_jwt(secret, dict(claims, iss="not-timing")),
        "claims edited, signature kept": "%s.%s.%s" % (
            head, b64url(json.dumps(edited).encode()), sig),
    }


def test_forged_tokens_are_refused_on_both_channels(sec, admin):
    secret = jwt_secret(sec)
    customer = register(sec)
    order = place(sec, customer["token"])
    cust = customer["user"]
    cases = [
        ("/admin", {"sub": "1", "role": "admin", "name": "Admin"}, admin),
        ("/orders/%d" % order["id"], {"sub": str(cust["id"]),
                                      "role": "customer",
                                      "name": cust["name"]},
         customer["token"]),
    ]
    problems = []
    for path, claims, good in cases:
        # The real token opens the channel both ways: the refusals below
        # are about the forgery alone.
        assert upgrade_status(sec, path + "?token=" + good) == 101
        assert upgrade_status(sec, path, ["timing.v1", "bearer." + good]) \
            == 101
        for name, token in forged(secret, claims).items():
            for how, args in (("query", (path + "?token=" + token, None)),
                              ("subprotocol",
                               (path, ["timing.v1", "bearer." + token]))):
                got = upgrade_status(sec, *args)
                if got != 401:
                    problems.append((path, name, how, got))
    # A customer's own token with its role edited to admin, on /admin.
    head, payload, sig = customer["token"].split(".")
    edited = json.loads(base64.urlsafe_b64decode(payload + "=="))
    edited["role"] = "admin"
    tampered = "%s.%s.%s" % (head, b64url(json.dumps(edited).encode()), sig)
    got = upgrade_status(sec, "/admin", ["timing.v1", "bearer." + tampered])
    if got != 401:
        problems.append(("/admin", "customer token made admin", got))
    # And for REST, the same forgeries of the owner's token: 401.
    for name, token in forged(secret, cases[1][1]).items():
        ans = request(sec, "GET", "/api/orders/%d/status" % order["id"],
                      headers=auth(token))
        if ans.status != 401:
            problems.append(("REST", name, ans))
    assert not problems, problems


# -- identity headers -----------------------------------------------------------

FORGED_IDENTITY = {
    "X-Timing-Channel": "admin", "X-Timing-Role": "admin",
    "X-Timing-User": "1", "X-Timing-Order": "1",
    "X-Timing-Last-Event": "0", "X-Timing-Resume-Epoch": "forged",
    "X-Timing-Epoch": "forged", "X-Timing-Newest-Event": "0",
    "X-Timing-Generation": "0", "X-Timing-Max-Age": "1",
    "x-timing-channel": "admin", "X_Timing_Channel": "admin",
    "X-Timing-Role ": "admin",
}


def test_identity_headers_from_a_customer_never_reach_the_daemon(sec, admin):
    """A customer watching its order sends the daemon's own headers to
    claim the staff channel or another order: it still gets only its own
    order's updates, with contact details masked."""
    mine = place(sec, name="ของฉัน")
    epoch = sec.mariadb("SELECT epoch FROM timing_epoch")[0][0]

    async def scenario():
        ws = await ws_open(
            sec, "/orders/%d" % mine["id"],
            subprotocols=["timing.v1", "tracking." + mine["tracking_token"]],
            headers={k: v for k, v in FORGED_IDENTITY.items()
                     if "_" not in k and not k.endswith(" ")})
        try:
            hello = await ws_next(ws)
            theirs = place(sec, name="ของคนอื่น")
            for oid in (theirs["id"], mine["id"]):
                ans = request(sec, "PUT", "/api/admin/orders/%d/status" % oid,
                              headers=auth(admin),
                              body={"status": "preparing"})
                assert ans.status == 200, ans
            got = []
            try:
                while True:
                    got.append(await ws_next(ws, timeout=3))
            except Exception:
                pass
            return hello, got
        finally:
            await ws.close()

    hello, got = run(scenario())
    assert hello["type"] == "connection" and hello["epoch"] == epoch
    assert [m["type"] for m in got] == ["orderStatusUpdate"], got
    assert got[0]["order"]["id"] == mine["id"]
    assert got[0]["order"]["customer_info"]["phone"] != "0812345678"
    # Raw header spellings (underscore, trailing space) Apache may pass on
    # differently: the upgrade is still that customer's, or refused.
    status = upgrade_status(sec, "/orders/%d" % mine["id"],
                            ["timing.v1", "tracking." + mine["tracking_token"]],
                            {"X_Timing_Channel": "admin",
                             "X_Timing_Order": "1"})
    assert status == 101
    # A customer's token with the headers of staff is still refused /admin.
    customer = register(sec)
    assert upgrade_status(sec, "/admin",
                          ["timing.v1", "bearer." + customer["token"]],
                          {"X-Timing-Role": "admin",
                           "X-Timing-Channel": "admin"}) == 403


# -- text is data, never SQL ----------------------------------------------------

NASTY = "x'; DROP TABLE orders; -- \\' \\\" \\\\ %_ \"q\" `b` ก่ำ 🍜 é ‮"
NASTY_SHORT = "'; DROP TABLE x;-- \\ %_ \" ก 🍜"        # for 50-char fields
NASTY_PHONE = "+66 (0)--81 234"         # SQL's comment, what a phone allows


def hex_of(stack, sql):
    return stack.mariadb(sql)[0][0]


def expect_hex(text):
    return text.encode().hex().upper()


def test_sql_metacharacters_in_every_text_field_are_kept_verbatim(sec, admin):
    problems = []

    def same(label, got, want):
        if got != want:
            problems.append((label, got, want))

    # An order: name, phone (what the phone rule lets through), e-mail,
    # note, item note; then a status change with a reason.
    email = "o'brien\\%_\";--@example.com"
    ans = request(sec, "POST", "/api/orders", body={
        "customer_info": {"name": NASTY, "phone": "0812345678",
                          "email": email},
        "items": [{"menu_id": 1, "quantity": 1, "note": NASTY}],
        "note": NASTY + "\n" + NASTY})
    assert ans.status == 201, ans
    order = ans.json["data"]
    oid = order["id"]
    same("name", order["customer_info"]["name"], NASTY)
    same("email", order["customer_info"]["email"], email)
    same("note", order["note"], NASTY + "\n" + NASTY)
    same("item note", order["items"][0]["note"], NASTY)
    ans = request(sec, "POST", "/api/orders", body={
        "customer_info": {"name": "phone", "phone": NASTY_PHONE},
        "items": [{"menu_id": 1, "quantity": 1}]})
    assert ans.status == 201, ans
    same("phone", ans.json["data"]["customer_info"]["phone"], NASTY_PHONE)
    same("phone stored", hex_of(sec, "SELECT HEX(customer_phone) FROM orders "
                                "WHERE id = %d" % ans.json["data"]["id"]),
         expect_hex(NASTY_PHONE))
    ans = request(sec, "PUT", "/api/admin/orders/%d/status" % oid,
                  headers=auth(admin),
                  body={"status": "cancelled", "reason": NASTY})
    assert ans.status == 200, ans
    full = request(sec, "GET", "/api/admin/orders/%d" % oid,
                   headers=auth(admin)).json["data"]
    same("name (staff view)", full["customer_info"]["name"], NASTY)
    same("reason", full["status_history"][-1]["reason"], NASTY)
    row = sec.mariadb("SELECT HEX(customer_name), HEX(customer_email), "
                      "HEX(note) FROM orders WHERE id = %d" % oid)[0]
    same("stored order", row, [expect_hex(NASTY), expect_hex(email),
                               expect_hex(NASTY + "\n" + NASTY)])
    same("stored item note", hex_of(sec, "SELECT HEX(note) FROM order_items "
                                    "WHERE order_id = %d" % oid),
         expect_hex(NASTY))
    same("stored reason", hex_of(sec, "SELECT HEX(reason) FROM "
                                 "order_status_history WHERE order_id = %d "
                                 "AND to_status = 'cancelled'" % oid),
         expect_hex(NASTY))
    # The event log carries the same text.
    events = request(sec, "GET", "/api/admin/events?after=0&limit=1000",
                     headers=auth(admin)).json["data"]
    created = [e for e in events if e["type"] == "newOrder"
               and e["order"]["id"] == oid]
    same("event", created and created[0]["order"]["customer_info"]["name"],
         NASTY)

    # The menu: name, description, category; created and updated.
    ans = request(sec, "POST", "/api/admin/menu", headers=auth(admin), body={
        "name": NASTY, "description": NASTY * 3, "category": NASTY_SHORT,
        "price": 10})
    assert ans.status == 201, ans
    item = ans.json["data"]
    for field, want in (("name", NASTY), ("description", NASTY * 3),
                        ("category", NASTY_SHORT)):
        same("menu " + field, item[field], want)
    ans = request(sec, "PUT", "/api/admin/menu/%d" % item["id"],
                  headers=auth(admin), body={
                      "name": NASTY[::-1], "description": NASTY,
                      "category": NASTY_SHORT[::-1], "price": 11,
                      "available": False})
    assert ans.status == 200, ans
    listed = [m for m in request(sec, "GET", "/api/menu").json["data"]
              if m["id"] == item["id"]]
    same("menu listed", listed and (listed[0]["name"],
                                    listed[0]["description"],
                                    listed[0]["category"]),
         (NASTY[::-1], NASTY, NASTY_SHORT[::-1]))
    same("menu stored", sec.mariadb(
        "SELECT HEX(name), HEX(description), HEX(category) FROM menu_items "
        "WHERE id = %d" % item["id"])[0],
        [expect_hex(NASTY[::-1]), expect_hex(NASTY),
         expect_hex(NASTY_SHORT[::-1])])

    # Users: a customer registers, an admin creates staff, then renames.
    customer = register(sec, name=NASTY)
    same("registered name", customer["user"]["name"], NASTY)
    me = request(sec, "GET", "/api/auth/me", headers=auth(customer["token"]))
    same("me", me.json["data"]["user"]["name"], NASTY)
    ans = request(sec, "POST", "/api/admin/users", headers=auth(admin),
                  body={"name": NASTY, "role": "staff",
                        "email": "staff-%s@example.com" % uuid.uuid4().hex[:8],
                        "password": NASTY[:40]})
    assert ans.status == 201, ans
    staff = ans.json["data"]["user"]
    same("staff name", staff["name"], NASTY)
    ans = request(sec, "PATCH", "/api/admin/users/%d" % staff["id"],
                  headers=auth(admin), body={"name": NASTY[::-1]})
    assert ans.status == 200, ans
    same("renamed", ans.json["data"]["user"]["name"], NASTY[::-1])
    same("users stored", [r[0] for r in sec.mariadb(
        "SELECT HEX(name) FROM users WHERE id IN (%d, %d) ORDER BY id"
        % (customer["user"]["id"], staff["id"]))],
        [expect_hex(NASTY), expect_hex(NASTY[::-1])])
    # The password with metacharacters works for login, and only it.
    ans = request(sec, "POST", "/api/auth/login", body={
        "email": staff["email"], "password": NASTY[:40]})
    same("login with the nasty password", ans.status, 200)
    ans = request(sec, "POST", "/api/auth/login", body={
        "email": staff["email"], "password": "' OR '1'='1"})
    same("injection as a password", ans.status, 401)

    # The shop's name, put back afterwards.
    shop = request(sec, "GET", "/api/shop").json["data"]
    ans = request(sec, "PUT", "/api/admin/shop", headers=auth(admin),
                  body={"name": NASTY})
    assert ans.status == 200, ans
    same("shop", request(sec, "GET", "/api/shop").json["data"]["name"], NASTY)
    request(sec, "PUT", "/api/admin/shop", headers=auth(admin),
            body={"name": shop["name"]})

    # Every table is still there.
    tables = {r[0] for r in sec.mariadb("SHOW TABLES")}
    assert {"orders", "order_items", "users", "menu_items",
            "events"} <= tables
    assert not problems, problems


# -- the login limit across processes ---------------------------------------------

def test_login_limit_holds_across_apache_processes(sec):
    """Thirty wrong passwords for one account at once, each on its own
    connection from its own address: with 8 threads per process they
    are served by several processes, and still at most ten are judged."""
    account = register(sec)
    email = account["user"]["email"]
    log_start = os.path.getsize(sec.log_path("apache"))
    sources = [random_loopback() for _ in range(30)]

    def attempt(i):
        return request(sec, "POST", "/api/auth/login", source=sources[i],
                       body={"email": email,
                             "password": "wrong-password-%d" % i}).status

    with ThreadPoolExecutor(30) as pool:
        statuses = list(pool.map(attempt, range(30)))
    with open(sec.log_path("apache"), errors="replace") as f:
        f.seek(log_start)
        pids = {m.group(1) for m in re.finditer(
            r"\[pid (\d+):tid \d+\] [^\n]*\[client ([0-9.]+):\d+\][^\n]*"
            r"login refused", f.read()) if m.group(2) in sources}
    print("login burst: %d x 401, %d x 429, refusals from %d processes"
          % (statuses.count(401), statuses.count(429), len(pids)))
    assert set(statuses) <= {401, 429}, statuses
    assert statuses.count(401) <= 10, statuses
    assert statuses.count(429) >= 20, statuses
    assert len(pids) >= 2, "the burst reached only one process: %s" % pids
    # Attempts racing each other may refuse more than they must (each
    # counts the others' rows before they are forgotten): what is left of
    # the ten is judged, one at a time, and then the account is limited.
    for i in range(10 - statuses.count(401)):
        assert attempt(i) == 401
    assert attempt(0) == 429
    # The right password is refused too while limited.
    ans = request(sec, "POST", "/api/auth/login", body={
        "email": email, "password": "customer-pass-1"})
    assert ans.status == 429 and ans.header("retry-after"), ans


# -- the daemon's sockets ---------------------------------------------------------

PROBE = r"""
import socket, sys
results = []
for path, kind in ((sys.argv[1], socket.SOCK_STREAM),
                   (sys.argv[2], socket.SOCK_DGRAM)):
    s = socket.socket(socket.AF_UNIX, kind)
    try:
        s.connect(path)
        results.append("ok")
    except OSError as e:
        results.append(e.__class__.__name__ + ":" + str(e.errno))
    finally:
        s.close()
print(" ".join(results))
"""


def probe_as(user, stack):
    res = subprocess.run(
        [stackmod.program("runuser"), "-u", user, "--", "/usr/bin/python3",
         "-c", PROBE, stack.ws_socket, stack.event_socket],
        capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, res.stderr
    return res.stdout.split()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch users")
def test_daemon_sockets_are_for_apache_only(sec):
    apache_user, apache_group = stackmod.apache_user()
    gid = __import__("grp").getgrnam(apache_group).gr_gid
    for path in (sec.ws_socket, sec.event_socket):
        st = os.stat(path)
        assert oct(st.st_mode & 0o777) == oct(0o660), path
        assert st.st_gid == gid, (path, st.st_gid, gid)
    # Apache's user gets through; any other local user is refused.
    assert probe_as(apache_user, sec) == ["ok", "ok"]
    other = "nobody" if apache_user != "nobody" else "daemon"
    assert probe_as(other, sec) == ["PermissionError:13"] * 2
