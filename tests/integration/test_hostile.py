# SPDX-License-Identifier: Apache-2.0
"""A generated battery of hostile requests against every endpoint of the API:
malformed and truncated JSON, wrong types for every field of every body,
huge and negative numbers, 10,000-character strings, invalid UTF-8, NUL
bytes, forged tokens, injected identity headers and ids that do not parse.

Each must be answered 4xx (never 5xx, never a hang) with the JSON error
envelope, and the database must be unchanged afterwards.  The cases are
built at collection time from symbols (tokens, ids) that the module fixture
resolves against the running stack; the battery is sent once, concurrently,
each request from its own random loopback address so that the per-address
rate limits do not pile up across cases or runs."""

import http.client
import json
import random
import socket
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from client import jwt_secret, make_jwt

TIMEOUT = 10            # seconds per request
WORKERS = 4

# -- the endpoints --------------------------------------------------------------
# auth: open | token | staff | admin | order (staff, owner, tracking token
# or cookie; 404 to anyone else).  `ok` is a body that would succeed with
# the right credential: hostile cases mutate one part of it.

VALID_ORDER = {"customer_info": {"name": "Hostile", "phone": "0812345678",
                                 "email": "h@example.com"},
               "items": [{"menu_id": "@menu", "quantity": 1, "note": "n"}],
               "note": "x"}

ENDPOINTS = [
    # method, path template, auth, valid body (None: no body)
    ("GET", "/api/health", "open", None),
    ("GET", "/api/shop", "open", None),
    ("GET", "/api/menu", "open", None),
    ("POST", "/api/auth/register", "open",
     {"name": "Hostile", "email": "@fresh_email", "password": "hostile-pass-1"}),
    ("POST", "/api/auth/login", "open",
     {"email": "@fresh_email", "password": "hostile-pass-1"}),
    ("GET", "/api/auth/me", "token", None),
    ("GET", "/api/admin/users", "admin", None),
    ("POST", "/api/admin/users", "admin",
     {"name": "Hostile", "email": "@fresh_email", "password": "hostile-pass-1",
      "role": "staff"}),
    ("PATCH", "/api/admin/users/{staff}", "admin",
     {"name": "Renamed", "role": "admin", "disabled": True,
      "password": "hostile-pass-2"}),
    ("PUT", "/api/admin/shop", "admin",
     {"name": "Hostile", "currency": "USD", "timezone": "UTC",
      "accepting_orders": False}),
    ("POST", "/api/admin/menu", "admin",
     {"name": "Hostile", "description": "d", "category": "c", "price": 10,
      "available": True}),
    ("PUT", "/api/admin/menu/{menu}", "admin",
     {"name": "Hostile", "description": "d", "category": "c", "price": 10,
      "available": False}),
    ("DELETE", "/api/admin/menu/{menu}", "admin", None),
    ("POST", "/api/orders", "open", VALID_ORDER),
    ("GET", "/api/orders/{order}/status", "order", None),
    ("GET", "/api/orders", "token", None),
    ("POST", "/api/orders/{order}/cancel", "order", None),
    ("GET", "/api/admin/orders", "staff", None),
    ("GET", "/api/admin/orders/{order}", "staff", None),
    ("PUT", "/api/admin/orders/{order}/status", "staff",
     {"status": "preparing", "reason": "r"}),
    ("GET", "/api/admin/events", "staff", None),
    ("GET", "/api/admin/websocket/stats", "staff", None),
    ("GET", "/api/admin/summary", "staff", None),
]

# Routes where a limit legitimately applies (login: failures per account
# and address; order creation: 30 a minute per address).
RATE_LIMITED = {("POST", "/api/auth/login"), ("POST", "/api/orders")}

# Field kinds of every body, by dotted path.
FIELDS = {
    "/api/auth/register": {"name": "str", "email": "str", "password": "str"},
    "/api/auth/login": {"email": "str", "password": "str"},
    "/api/admin/users": {"name": "str", "email": "str", "password": "str",
                         "role": "str"},
    "/api/admin/users/{staff}": {"name": "str?", "role": "str?",
                                 "disabled": "bool?", "password": "str?"},
    "/api/admin/shop": {"name": "str?", "currency": "str?",
                        "timezone": "str?", "accepting_orders": "bool?"},
    "/api/admin/menu": {"name": "str", "description": "str?",
                        "category": "str?", "price": "num",
                        "available": "bool?"},
    "/api/admin/menu/{menu}": {"name": "str", "description": "str?",
                               "category": "str?", "price": "num",
                               "available": "bool?"},
    "/api/orders": {"customer_info": "obj", "customer_info.name": "str",
                    "customer_info.phone": "str?",
                    "customer_info.email": "str?", "items": "list",
                    "items.0": "obj", "items.0.menu_id": "int",
                    "items.0.quantity": "int", "items.0.note": "str?",
                    "note": "str?"},
    "/api/admin/orders/{order}/status": {"status": "str", "reason": "str?"},
}

# Raw JSON texts for numbers a JSON encoder will not write for us.
HUGE = ["1e308", "-1", str(2 ** 63), "99999999999999999999", "-1e308",
        "1e999", "-0.000001", str(-2 ** 63 - 1)]
# Wrong-type values, by kind.  null only where the field is required.
WRONG = {
    "str": ["123", "true", "[]", "{}", '["a"]', "null"],
    "str?": ["123", "true", "[]", "{}"],
    "int": ['"1"', "1.5", "true", "[]", "{}", "null"],
    "num": ['"10"', "true", "[]", "{}", "null"],
    "bool?": ['"true"', "1", "0", '"false"', "[]"],
    "obj": ['"x"', "1", "[]", "null", "true"],
    "list": ['"x"', "1", "{}", "null"],
}
# Identity headers a client might hope a proxy trusts.
IDENTITY_HEADERS = [
    ("X-User-Id", "1"), ("X-User-Role", "admin"), ("X-Timing-Role", "admin"),
    ("X-Timing-User", "1"), ("X-Forwarded-User", "admin"),
    ("X-Remote-User", "admin"), ("Remote-User", "admin"),
    ("X-Auth-User", "admin"), ("X-Authenticated-User", "admin@timing.local"),
    ("X-Role", "admin"),
]
BAD_IDS = ["-1", "0", "99999999999999999999", "abc", "1e3", "0x10", "1.0",
           "4294967297", "18446744073709551617", "9223372036854775808",
           "-0", "1;1", "%201", "1%20", "NaN", "null", "%E0%B8%81"]
FORGED = ["garbage", "alg_none", "hs512", "rs256", "wrong_key", "expired",
          "wrong_issuer", "no_exp", "bad_role", "role_tampered", "sql_sub",
          "future_iat_huge_exp", "empty_bearer", "basic", "tampered_sig"]


class Case:
    def __init__(self, name, method, path, auth, cred=None, body=None,
                 ctype="application/json", headers=None, expect=None,
                 source=None):
        self.name = name
        self.source = source        # None: a fresh random loopback address
        self.method = method
        self.path = path            # may hold {order}, {menu}, {staff}
        self.auth = auth
        self.cred = cred            # None | admin | customer | forged kind
        self.body = body            # raw text with @symbols, or bytes
        self.ctype = ctype
        self.headers = headers or []
        self.expect = set(expect)
        if (method, path.split("?")[0]) in RATE_LIMITED:
            self.expect.add(429)


def credential_status(auth, cred):
    """What the credential check alone answers, or None to go on."""
    if cred in FORGED:
        return {401}
    if cred is None:
        if auth in ("token", "staff", "admin"):
            return {401}
        if auth == "order":
            return {404}
        return None
    if cred == "customer" and auth in ("staff", "admin"):
        return {403}
    return None


def body_cases():
    """Hostile bodies for each endpoint that takes one, sent with the
    credential that reaches the body checks."""
    out = []
    for method, path, auth, valid in ENDPOINTS:
        if valid is None:
            continue
        cred = "admin" if auth in ("admin", "staff") else None
        text = json.dumps(valid, ensure_ascii=False)
        label = "%s %s" % (method, path)

        def add(kind, body, expect, ctype="application/json"):
            out.append(Case("%s body:%s" % (label, kind), method, path, auth,
                            cred, body, ctype, expect=expect))

        # Malformed and truncated JSON.
        for cut in (1, len(text) // 3, len(text) // 2, len(text) - 1):
            add("truncated@%d" % cut, text[:cut], {400})
        for i, bad in enumerate([
                "{", "}", "{,}", '{"a":}', "{'name': 'x'}", '{"a" 1}',
                text[:-1] + ",}", text + text, text + " x", "NaN",
                "Infinity", "[" * 200 + "]" * 200, '{"a": [1, 2,]}',
                "/* c */ " + text, "tru", '"unterminated',
                '{"a": 01}', '{"a": .5}', '{"a": 1e}', '{"a": "\\x41"}',
                '{"a": NaN}', '{"a": -Infinity}', '{"a": undefined}',
                '{"a": "\\ud800"', "\x00", " "]):
            add("malformed#%d" % i, bad, {400})
        add("empty", "", {400})
        # Valid JSON that is not an object.
        for i, other in enumerate(["[]", "[" + text + "]", '"x"', "1",
                                   "null", "true", "-1e308"]):
            add("not-object#%d" % i, other, {422})
        # Not sent as JSON.
        for ctype in ("text/plain", "application/x-www-form-urlencoded",
                      "multipart/form-data; boundary=x", "application/jsonx",
                      "json", None):
            add("ctype=%s" % ctype, text, {415}, ctype)
        # Invalid UTF-8 and raw NUL bytes.
        raw = text.encode()
        for i, junk in enumerate([b"\xff", b"\xc3\x28", b"\xed\xa0\x80",
                                  b"\xf8\x88\x80\x80\x80", b"\xc0\xaf"]):
            add("invalid-utf8#%d" % i, raw[:-1] + b', "x": "' + junk + b'"}',
                {400})
        add("raw-nul", raw.replace(b'": "', b'": "\x00', 1), {400})
        # Field by field: wrong types, huge numbers, long strings, NULs.
        for field, kind in FIELDS[path].items():
            values = list(WRONG[kind.split(".")[0]])
            if kind in ("int", "num"):
                values += HUGE
            if kind.startswith("str"):
                values += ['"%s"' % ("x" * 10000), '"%s"' % ("ก" * 10000),
                           '"a\\u0000b"', '"a\\u0001b"', '"a\\u001bb"',
                           '"\\u0000"', '"   "' if kind == "str" else '"\\u007f"']
            for i, value in enumerate(values):
                body = with_field(valid, field, value)
                expect = {400, 422} if value == "1e999" else {422}
                if path == "/api/auth/login":
                    # Well-formed text may simply be a wrong credential.
                    expect = {422} if not value.startswith('"') \
                        or len(value) > 200 else {401, 422}
                add("%s=%s#%d" % (field, value[:12], i), body, expect)
            if kind.startswith("str"):
                add("%s=invalid-utf8" % field,
                    with_field(valid, field, '"@@BAD@@"').encode()
                    .replace(b"@@BAD@@", b"a\xffb"), {400})
        # Fields that are not part of the body (price, id, role...) do not
        # make a broken body valid: a broken body with them stays a 4xx.
        extra = json.loads(text.replace('"@menu"', "1"))
        if isinstance(extra, dict):
            extra.update({"id": 1, "role": "admin", "price": -1,
                          "total": 0, "status": "completed",
                          "user_id": 1, "is_admin": True})
            first = next(iter(FIELDS[path]))
            add("extra-fields+broken", with_field(extra, first, "[]"), {422})
    return out


def with_field(valid, field, raw_value):
    """The valid body's text with one field (dotted path) set to a raw JSON
    text."""
    marker = "@@HOSTILE@@"
    body = json.loads(json.dumps(valid))
    node, parts = body, field.split(".")
    for part in parts[:-1]:
        node = node[int(part)] if part.isdigit() else node[part]
    last = parts[-1]
    if last.isdigit():
        node[int(last)] = marker
    else:
        node[last] = marker
    return json.dumps(body, ensure_ascii=False).replace('"%s"' % marker,
                                                        raw_value)


def token_cases():
    """Forged and broken credentials on every route: always 401, even where
    the body is good enough to succeed with a real token."""
    out = []
    for method, path, auth, valid in ENDPOINTS:
        body = json.dumps(valid, ensure_ascii=False) if valid else None
        for kind in FORGED:
            out.append(Case("%s %s token:%s" % (method, path, kind), method,
                            path, auth, kind, body, expect={401}))
    return out


def identity_cases():
    """Identity headers, alone or beside a customer's token, on every route
    that needs more than that."""
    out = []
    for method, path, auth, valid in ENDPOINTS:
        if auth == "open":
            continue
        body = json.dumps(valid, ensure_ascii=False) if valid else None
        for cred in (None, "customer"):
            if cred == "customer" and auth in ("token", "order"):
                continue        # a customer may legitimately call these
            expect = credential_status(auth, cred)
            for name, value in IDENTITY_HEADERS:
                out.append(Case("%s %s cred:%s %s" % (method, path, cred, name),
                                method, path, auth, cred, body,
                                headers=[(name, value)], expect=expect))
            out.append(Case("%s %s cred:%s all-identity-headers"
                            % (method, path, cred), method, path, auth, cred,
                            body, headers=IDENTITY_HEADERS, expect=expect))
    return out


def id_cases():
    """Ids that do not parse, overflow or are not positive: 404 (or the
    credential's answer first, when the router leaves ids to the handler)."""
    out = []
    for method, path, auth, valid in ENDPOINTS:
        if "{" not in path:
            continue
        body = json.dumps(valid, ensure_ascii=False) if valid else None
        creds = ["admin"] + ([None] if auth == "order" else [])
        for cred in creds:
            for bad in BAD_IDS:
                url = path.replace("{order}", bad).replace("{menu}", bad) \
                    .replace("{staff}", bad)
                out.append(Case("%s %s cred:%s" % (method, url, cred), method,
                                url, auth, cred, body, expect={404}))
        # Without the credential the route needs: never more than a refusal.
        if auth in ("admin", "staff"):
            for bad in BAD_IDS[:6]:
                url = path.replace("{order}", bad).replace("{menu}", bad) \
                    .replace("{staff}", bad)
                out.append(Case("%s %s cred:None" % (method, url), method,
                                url, auth, None, body, expect={401, 404}))
    return out


def query_cases():
    """Hostile query strings: out-of-range numbers, bad dates and statuses,
    broken escapes, tracking tokens that are not."""
    out = []
    bad_escapes = ["x=%zz", "x=%4", "x=%00", "x=%ff", "%c3%28=1",
                   "a=%ED%A0%80"]
    for method, path, auth, valid in ENDPOINTS:
        if valid is not None:
            continue
        cred = "admin" if auth in ("admin", "staff") else None
        if auth == "token":
            cred = "customer"
        if method == "DELETE":
            cred = None         # never let a query string delete an item
        expect = credential_status(auth, cred)
        if expect == {404}:
            expect = {400, 404}     # the query is read before the lookup
        for q in bad_escapes:
            out.append(Case("%s %s ?%s" % (method, path, q), method,
                            path + "?" + q, auth, cred,
                            expect=expect or {400}))
    lists = {"/api/admin/orders": ("limit", ["0", "-1", "201", "1e308",
                                             "99999999999999999999", "abc",
                                             "1.5", "%00"]),
             "/api/admin/events": ("limit", ["0", "-1", "1001", "1e308",
                                             "99999999999999999999", "abc",
                                             "2.5"])}
    for path, (name, values) in lists.items():
        cred = "admin"
        for v in values:
            out.append(Case("GET %s ?%s=%s" % (path, name, v), "GET",
                            "%s?%s=%s" % (path, name, v), "staff", cred,
                            expect={400} if v == "%00" else {422}))
    for v in ["-1", "abc", "99999999999999999999", "1e3", "0x10", "%00"]:
        out.append(Case("GET /api/admin/events ?after=%s" % v, "GET",
                        "/api/admin/events?after=" + v, "staff", "admin",
                        expect={400, 422}))
    for v in ["bogus", "pending,bogus", "pending%00",
              "x" * 2000]:
        out.append(Case("GET /api/admin/orders ?status=%s" % v[:20], "GET",
                        "/api/admin/orders?status=" + v, "staff", "admin",
                        expect={400} if "%00" in v else {422}))
    for v in ["abc", "2026-13-01", "2026-02-30", "99999999-01-01",
              "-2026-01-01", "2026-1-1", "20260101", "2026-01-01T00:00:00Z",
              "2026-01-01%00", "0000-00-00"]:
        out.append(Case("GET /api/admin/summary ?date=%s" % v, "GET",
                        "/api/admin/summary?date=" + v, "staff", "admin",
                        expect={400} if "%00" in v else {422}))
    for v in ["x", "a" * 4000, "%00", "%27%20OR%201%3D1%20--",
              "@tracking_other"]:
        for path in ("/api/orders/{order}/status", "/api/orders/{order}/cancel"):
            method = "GET" if path.endswith("status") else "POST"
            out.append(Case("%s %s ?tracking_token=%s" % (method, path, v[:20]),
                            method, path + "?tracking_token=" + v, "order",
                            None, expect={400} if v == "%00" else {404}))
    # A tracking cookie that does not match is no credential at all.
    for path, method in (("/api/orders/{order}/status", "GET"),
                         ("/api/orders/{order}/cancel", "POST")):
        for cookie in ("timing_track_{order}=forged",
                       "timing_track_{order}=@tracking_other",
                       "timing_track_{order}=" + "a" * 4000):
            out.append(Case("%s %s cookie:%s" % (method, path, cookie[-12:]),
                            method, path, "order", None,
                            headers=[("Cookie", cookie)], expect={404}))
    return out


def status_cases():
    """Statuses that are not: unknown, wrong case, padded, with a NUL."""
    out = []
    for v in ['"PREPARING"', '"prepar"', '"deleted"', '"pending\\u0000"',
              '"\\u0070ending"x', '""', '"null"']:
        body = '{"status": %s, "reason": "r"}' % v
        expect = {400} if v.endswith("x") else {422}
        out.append(Case("PUT status body:%s" % v, "PUT",
                        "/api/admin/orders/{order}/status", "staff", "admin",
                        body, expect=expect))
    # If-Match that cannot match (or does not parse) with a good body.
    for v in ['"999999"', '"0"', '"-1"', "garbage", '"99999999999999999999"']:
        out.append(Case("PUT status If-Match:%s" % v, "PUT",
                        "/api/admin/orders/{order}/status", "staff", "admin",
                        '{"status": "preparing"}',
                        headers=[("If-Match", v)],
                        expect={412} if v.startswith('"') else {400, 412}))
    # The same Idempotency-Key with another body.
    out.append(Case("POST /api/orders idempotency reused", "POST",
                    "/api/orders", "open", None,
                    json.dumps(dict(VALID_ORDER, note="other body"),
                               ensure_ascii=False),
                    headers=[("Idempotency-Key", "@idem_key")], expect={422}))
    return out


CASES = (body_cases() + token_cases() + identity_cases() + id_cases()
         + query_cases() + status_cases())
_names = {}
for _c in CASES:
    _names[_c.name] = _names.get(_c.name, 0) + 1
    if _names[_c.name] > 1:
        _c.name += " (%d)" % _names[_c.name]


# -- sending -----------------------------------------------------------------------

def random_loopback():
    return "127.%d.%d.%d" % (random.randint(1, 254), random.randint(0, 255),
                             random.randint(1, 254))


def send(port, method, path, body, headers, source=None):
    """One request from a fresh loopback address (or source).  Returns
    (status, headers, body) or (None, None, reason) when there is no
    answer."""
    conn = http.client.HTTPConnection(
        "127.0.0.1", port, timeout=TIMEOUT,
        source_address=(source or random_loopback(), 0))
    try:
        conn.putrequest(method, path, skip_host=True,
                        skip_accept_encoding=True)
        conn.putheader("Host", "localhost")
        for name, value in headers:
            conn.putheader(name, value)
        data = body if body is not None else b""
        if body is not None:
            conn.putheader("Content-Length", str(len(data)))
        conn.endheaders()
        if data:
            conn.send(data)
        resp = conn.getresponse()
        return (resp.status, {k.lower(): v for k, v in resp.getheaders()},
                resp.read())
    except (socket.timeout, TimeoutError):
        return None, None, "no answer within %d s" % TIMEOUT
    except (OSError, http.client.HTTPException) as e:
        return None, None, "connection failed: %r" % e
    finally:
        conn.close()


def snapshot(stack):
    tables = [r[0] for r in stack.mariadb(
        "SELECT table_name FROM information_schema.tables WHERE "
        "table_schema = DATABASE() AND table_name <> 'rate_events' "
        "ORDER BY table_name")]
    assert "orders" in tables and "users" in tables, tables
    sums = stack.mariadb("CHECKSUM TABLE " + ", ".join(
        "`%s`" % t for t in tables) + " EXTENDED")
    counts = stack.mariadb(" UNION ALL ".join(
        "SELECT '%s', COUNT(*) FROM `%s`" % (t, t) for t in tables))
    return {"checksum": {r[0]: r[1] for r in sums},
            "rows": {r[0]: r[1] for r in counts}}


@pytest.fixture(scope="module")
def battery(stack, admin_token):
    secret = jwt_secret(stack)
    suffix = uuid.uuid4().hex[:10]
    # A customer and a staff account to aim at, made before the snapshot.
    stack.mariadb(
        "INSERT INTO users (name, email, password_hash, role, created_at, "
        "updated_at) VALUES "
        "('Hostile customer', 'customer-%s@hostile.invalid', 'x', "
        "'customer', UTC_TIMESTAMP(3), UTC_TIMESTAMP(3)), "
        "('Hostile staff', 'staff-%s@hostile.invalid', 'x', 'staff', "
        "UTC_TIMESTAMP(3), UTC_TIMESTAMP(3))" % (suffix, suffix))
    customer = stack.mariadb("SELECT id FROM users WHERE email = "
                             "'customer-%s@hostile.invalid'" % suffix)[0][0]
    staff = stack.mariadb("SELECT id FROM users WHERE email = "
                          "'staff-%s@hostile.invalid'" % suffix)[0][0]
    menu = stack.mariadb("SELECT MIN(id) FROM menu_items WHERE available")[0][0]
    # Two orders: one to aim at, one whose tracking token is the wrong one.
    orders = []
    for _ in range(2):
        status, _, body = send(stack.port, "POST", "/api/orders",
                               json.dumps(VALID_ORDER).replace(
                                   '"@menu"', menu).encode(),
                               [("Content-Type", "application/json")])
        assert status == 201, (status, body)
        orders.append(json.loads(body)["data"])
    idem_key = "hostile-" + suffix
    status, _, body = send(stack.port, "POST", "/api/orders",
                           json.dumps(VALID_ORDER).replace(
                               '"@menu"', menu).encode(),
                           [("Content-Type", "application/json"),
                            ("Idempotency-Key", idem_key)])
    assert status == 201, (status, body)

    now = int(time.time())
    good_customer = make_jwt(secret, sub=customer, role="customer",
                             name="Hostile customer")
    head, claims, sig = good_customer.split(".")
    tampered_claims = json.loads(__import__("base64").urlsafe_b64decode(
        claims + "=" * (-len(claims) % 4)))
    tampered_claims["role"] = "admin"
    from client import b64url
    tokens = {
        "admin": "Bearer " + admin_token,
        "customer": "Bearer " + good_customer,
        "garbage": "Bearer not-a-jwt",
        "alg_none": "Bearer " + make_jwt(secret, header={"alg": "none",
                                                         "typ": "JWT"}),
        "hs512": "Bearer " + make_jwt(secret, header={"alg": "HS512",
                                                      "typ": "JWT"}),
        "rs256": "Bearer " + make_jwt(secret, header={"alg": "RS256",
                                                      "typ": "JWT"}),
        "wrong_key": "Bearer " + make_jwt(secret, key="k" * 40),
        "expired": "Bearer " + make_jwt(secret, exp=now - 60, iat=now - 7200),
        "wrong_issuer": "Bearer " + make_jwt(secret, iss="someone-else"),
        "no_exp": "Bearer " + make_jwt(secret, exp=None),
        "bad_role": "Bearer " + make_jwt(secret, role="root"),
        "role_tampered": "Bearer %s.%s.%s" % (
            head, b64url(json.dumps(tampered_claims).encode()), sig),
        "sql_sub": "Bearer " + make_jwt(secret, sub="1 OR 1=1"),
        "future_iat_huge_exp": "Bearer " + make_jwt(
            secret, iat=2 ** 62, exp=2 ** 63, key="z" * 40),
        "empty_bearer": "Bearer ",
        "basic": "Basic YWRtaW46YWRtaW4=",
        "tampered_sig": "Bearer " + make_jwt(secret)[:-4] + "AAAA",
    }
    symbols = {"{order}": str(orders[0]["id"]), "{menu}": menu,
               "{staff}": staff, '"@menu"': menu,
               "@tracking_other": orders[1]["tracking_token"],
               "@idem_key": idem_key}

    def resolve(text):
        for k, v in symbols.items():
            text = text.replace(k, v)
        while "@fresh_email" in text:
            text = text.replace("@fresh_email", "fresh-%s@hostile.invalid"
                                % uuid.uuid4().hex[:12], 1)
        return text

    def build(case):
        path = resolve(case.path)
        headers = []
        if case.cred:
            headers.append(("Authorization", tokens[case.cred]))
        for name, value in case.headers:
            headers.append((name, resolve(value)))
        body = case.body
        if isinstance(body, str):
            body = resolve(body).encode("utf-8", "surrogatepass")
        elif isinstance(body, bytes):
            body = resolve(body.decode("latin-1")).encode("latin-1")
        if body is not None and case.ctype:
            headers.append(("Content-Type", case.ctype))
        return path, body, headers

    before = snapshot(stack)
    started = time.monotonic()

    def run(case):
        path, body, headers = build(case)
        t0 = time.monotonic()
        status, hdrs, data = send(stack.port, case.method, path, body, headers,
                                  case.source)
        return case.name, {"request": (case.method, path, headers,
                                       (body or b"")[:200]),
                           "status": status, "headers": hdrs, "body": data,
                           "seconds": time.monotonic() - t0}

    with ThreadPoolExecutor(WORKERS) as pool:
        results = dict(pool.map(run, CASES))
    elapsed = time.monotonic() - started
    after = snapshot(stack)
    yield {"results": results, "before": before, "after": after,
           "elapsed": elapsed}
    # Whatever a defect changed, put back what the rest of the session needs.
    stack.mariadb("UPDATE shop SET accepting_orders = TRUE")
    stack.mariadb("UPDATE users SET disabled = FALSE, role = 'admin' "
                  "WHERE id = 1")


# -- the checks ---------------------------------------------------------------------

def test_battery_is_large_and_quick(battery):
    assert len(CASES) >= 300
    assert len(battery["results"]) == len(CASES)
    assert battery["elapsed"] < 60, battery["elapsed"]


def test_database_is_unchanged(battery):
    before, after = battery["before"], battery["after"]
    assert after["rows"] == before["rows"]
    changed = {t: (before["checksum"][t], after["checksum"].get(t))
               for t in before["checksum"]
               if before["checksum"][t] != after["checksum"].get(t)}
    assert not changed, "tables changed by refused requests: %s" % changed


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_request_is_refused_with_the_envelope(battery, case):
    got = battery["results"][case.name]
    method, path, headers, body = got["request"]
    shown = "%s %s %s body=%r -> %s %r" % (
        method, path, headers, body,
        got["status"], (got["body"] or b"")[:300])
    assert got["status"] is not None, shown
    assert 400 <= got["status"] < 500, shown
    assert got["status"] in case.expect, "expected %s: %s" % (
        sorted(case.expect), shown)
    assert got["headers"].get("content-type") == \
        "application/json; charset=utf-8", shown
    envelope = json.loads(got["body"])
    assert envelope["success"] is False, shown
    assert isinstance(envelope["error"]["code"], str) \
        and envelope["error"]["code"], shown
    assert isinstance(envelope["error"]["message"], str), shown
    if got["status"] == 429:
        assert got["headers"].get("retry-after"), shown
    if got["status"] == 401 and case.cred in FORGED:
        assert envelope["error"]["code"] == "invalid_token", shown
    if got["status"] == 422 and envelope["error"]["code"] == \
            "validation_failed" and case.body is not None:
        details = envelope["error"].get("details")
        if details is not None:
            assert all(isinstance(d.get("field"), str)
                       and isinstance(d.get("message"), str)
                       for d in details), shown
