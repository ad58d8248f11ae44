# SPDX-License-Identifier: Apache-2.0
"""Small HTTP and WebSocket helpers for the integration tests, on the
standard library and python3-websockets.  On a stack started with
tls=True they speak HTTPS and wss://, trusting the stack's certificate."""

import asyncio
import base64
import hashlib
import hmac
import http.client
import json
import random
import time
import urllib.parse

import websockets


class Answer:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def json(self):
        return json.loads(self.body)

    def header(self, name):
        return self.headers.get(name.lower())

    def __repr__(self):
        return "<%d %s>" % (self.status, self.body[:300])


def request(stack, method, path, body=None, headers=None, host=None,
            source=None):
    """One HTTP/1.1 request on its own connection; never raises on status.
    source: the loopback address to send from; by default a random
    127.x.y.z, so per-address limits of one test never reach another."""
    source = source or random_loopback()
    options = dict(timeout=30, source_address=(source, 0) if source else None)
    if getattr(stack, "tls", False):
        conn = http.client.HTTPSConnection(
            host or "127.0.0.1", stack.port, context=stack.ssl_context(),
            **options)
    else:
        conn = http.client.HTTPConnection(host or "127.0.0.1", stack.port,
                                          **options)
    try:
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            headers = dict(headers or {})
            headers.setdefault("Content-Type", "application/json")
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        return Answer(resp.status,
                      {k.lower(): v for k, v in resp.getheaders()}, data)
    finally:
        conn.close()


def random_loopback():
    return "127.%d.%d.%d" % (random.randint(1, 254), random.randint(0, 255),
                             random.randint(1, 254))


def raw_request(stack, data, timeout=10):
    """Sends raw bytes and returns the raw answer (for malformed HTTP)."""
    import socket
    with socket.create_connection(("127.0.0.1", stack.port),
                                  timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_jwt(secret, claims=None, header=None, key=None, **overrides):
    """A compact JWT signed HS256 (or unsigned for alg none)."""
    now = int(time.time())
    body = {"sub": "1", "role": "admin", "name": "Test", "iat": now,
            "exp": now + 3600, "iss": "timing"}
    body.update(claims or {})
    body.update(overrides)
    for k in [k for k, v in body.items() if v is None]:
        del body[k]
    head = header or {"alg": "HS256", "typ": "JWT"}
    signing = b64url(json.dumps(head).encode()) + "." + \
        b64url(json.dumps(body).encode())
    if head.get("alg") == "none":
        return signing + "."
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384,
              "HS512": hashlib.sha512}.get(head["alg"])
    if digest is None:      # an algorithm we cannot sign with: fake it
        return signing + "." + b64url(b"not-a-real-signature")
    sig = hmac.new((key or secret).encode(), signing.encode(), digest).digest()
    return signing + "." + b64url(sig)


def auth(token):
    """The headers that carry a token: Authorization: Bearer <token>."""
    return {"Authorization": "Bearer " + token}


def token_of(stack, email, password):
    """A token from POST /api/auth/login, which must answer 200."""
    ans = request(stack, "POST", "/api/auth/login",
                  body={"email": email, "password": password})
    assert ans.status == 200, ans
    return ans.json["data"]["token"]


def admin_login(stack):
    """A token for the stack's provisioned admin, from POST /api/auth/login."""
    return token_of(stack, stack.admin_email, stack.admin_password)


def jwt_secret(stack):
    with open(stack.secrets_dir + "/jwt.secret") as f:
        return f.read().strip()


async def ws_open(stack, path, headers=None, subprotocols=None):
    tls = getattr(stack, "tls", False)
    return await websockets.connect(
        "%s://127.0.0.1:%d%s" % ("wss" if tls else "ws", stack.port, path),
        extra_headers=headers or {}, subprotocols=subprotocols,
        ssl=stack.ssl_context() if tls else None,
        open_timeout=15, close_timeout=5)


async def ws_next(ws, timeout=10):
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


def run(coro):
    return asyncio.run(coro)


def quote(s):
    return urllib.parse.quote(s, safe="")


ONE_ITEM = [{"menu_id": 1, "quantity": 1}]


def post_order(stack, name="ลูกค้า", email=None, phone=None, token=None,
               items=None, headers=None, source=None, **more):
    """POST /api/orders of one order (by default one of menu item 1; with a
    token: that user's; `more`: other fields of the body, such as note);
    its answer, whatever the status."""
    info = {"name": name}
    if email:
        info["email"] = email
    if phone:
        info["phone"] = phone
    body = {"customer_info": info, "items": items or ONE_ITEM}
    body.update(more)
    headers = dict(headers or {})
    if token:
        headers.update(auth(token))
    return request(stack, "POST", "/api/orders", body=body,
                   headers=headers or None, source=source)


def place_order(stack, *args, **kw):
    """post_order that must answer 201; the order's data."""
    ans = post_order(stack, *args, **kw)
    assert ans.status == 201, ans
    return ans.json["data"]


def get_ok(stack, path, token):
    """The JSON of a GET with a token that must answer 200."""
    ans = request(stack, "GET", path, headers=auth(token))
    assert ans.status == 200, ans
    return ans.json


def put_status(stack, token, order_id, status, if_match=None):
    """PUT /api/admin/orders/:id/status, with If-Match when given."""
    headers = auth(token)
    if if_match is not None:
        headers["If-Match"] = if_match
    return request(stack, "PUT", "/api/admin/orders/%d/status" % order_id,
                   headers=headers, body={"status": status})


def upgrade_status(stack, path, subprotocols=None, headers=None):
    """The status of a WebSocket upgrade: 101, or the status it was refused
    with."""
    async def scenario():
        try:
            ws = await ws_open(stack, path, headers=headers,
                               subprotocols=subprotocols)
        except websockets.exceptions.InvalidStatusCode as e:
            return e.status_code
        await ws.close()
        return 101

    return run(scenario())


async def until_closed(ws, timeout):
    """The messages a socket gets until the server closes it, and the close
    code (None without a close frame; a sentence when it is still open
    after `timeout` seconds of silence, and then closed)."""
    got = []
    try:
        while True:
            got.append(await asyncio.wait_for(ws.recv(), timeout))
    except websockets.ConnectionClosed as closed:
        return got, closed.rcvd.code if closed.rcvd else None
    except asyncio.TimeoutError:
        await ws.close()
        return got, "still open after %ss" % timeout
