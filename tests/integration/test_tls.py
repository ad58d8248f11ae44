# SPDX-License-Identifier: Apache-2.0
"""Timing over HTTPS: a stack of its own started with tls=True, where
mod_ssl holds the TLS session with the stack's self-signed certificate.
REST answers over https://, and the WebSocket channels over wss:// go
through mod_proxy_wstunnel to timing-eventd: the daemon never holds the
client's TCP connection (it could not speak TLS on it).  Plaintext
upgrades may be handed to the daemon; these must not be.

Also the configuration check's warning for H2WebSockets: WebSockets over
HTTP/2 (RFC 8441) are not supported."""

import asyncio
import http.client
import os
import random
import re

import pytest

import stack as stackmod
from client import (auth, place_order, put_status, request, run,
                    upgrade_status, ws_next, ws_open)
from conftest import running_stack


@pytest.fixture(scope="module")
def tls_stack(tmp_root):
    with running_stack(tmp_root, "tls", tls=True) as s:
        yield s


@pytest.fixture(scope="module")
def tls_admin(tls_stack):
    ans = request(tls_stack, "POST", "/api/auth/login", body={
        "email": tls_stack.admin_email,
        "password": tls_stack.admin_password})
    assert ans.status == 200, ans
    return ans.json["data"]["token"]


def place(stack, token=None):
    return place_order(stack, "Secure", phone="0812345678", token=token)


def set_status(stack, token, order_id, status):
    ans = put_status(stack, token, order_id, status)
    assert ans.status == 200, ans
    return ans.json["data"]


def tcp_sockets_of(pid):
    """How many TCP sockets (IPv4 or IPv6) process pid holds open."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                inodes.update(line.split()[9] for line in f)
        except FileNotFoundError:
            continue
    held = 0
    fd_dir = "/proc/%d/fd" % pid
    for fd in os.listdir(fd_dir):
        try:
            target = os.readlink(os.path.join(fd_dir, fd))
        except OSError:
            continue            # closed meanwhile
        m = re.fullmatch(r"socket:\[(\d+)\]", target)
        if m and m.group(1) in inodes:
            held += 1
    return held


def test_the_stack_serves_https_with_its_own_certificate(tls_stack):
    assert tls_stack.base_url.startswith("https://127.0.0.1:")
    ans = request(tls_stack, "GET", "/api/health")
    assert ans.status == 200, ans
    # Plain HTTP on the port is mod_ssl's 400, not the API.
    conn = http.client.HTTPConnection("127.0.0.1", tls_stack.port,
                                      timeout=10)
    try:
        conn.request("GET", "/api/health")
        plain = conn.getresponse()
        assert plain.status == 400
    finally:
        conn.close()


def test_rest_over_https_places_and_reads_an_order(tls_stack, tls_admin):
    ans = request(tls_stack, "POST", "/api/orders", body={
        "customer_info": {"name": "Secure", "phone": "0812345678"},
        "items": [{"menu_id": 1, "quantity": 2}]})
    assert ans.status == 201, ans
    order = ans.json["data"]
    # mod_ssl makes the scheme https: the tracking cookie is Secure.
    cookie = ans.header("set-cookie")
    assert cookie.startswith("timing_track_%d=" % order["id"]), cookie
    assert "; Secure" in cookie, cookie
    path = "/api/orders/%d/status" % order["id"]
    mine = request(tls_stack, "GET",
                   path + "?tracking_token=" + order["tracking_token"])
    assert mine.status == 200, mine
    assert mine.json["data"]["id"] == order["id"]
    assert mine.json["data"]["status"] == "pending"
    assert mine.json["data"]["customer_info"]["phone"] == "081****678"
    staff = request(tls_stack, "GET", "/api/admin/orders/%d" % order["id"],
                    headers=auth(tls_admin))
    assert staff.status == 200, staff
    assert staff.json["data"]["id"] == order["id"]
    assert staff.json["data"]["customer_info"]["phone"] == "0812345678"
    assert request(tls_stack, "GET", path).status == 404


def test_staff_socket_over_wss_gets_new_orders_and_updates(tls_stack,
                                                           tls_admin):
    eventd = tls_stack.procs["eventd"].pid

    async def scenario():
        ws = await ws_open(tls_stack, "/admin?token=" + tls_admin)
        try:
            hello = await ws_next(ws)
            held = await asyncio.to_thread(tcp_sockets_of, eventd)
            order = await asyncio.to_thread(place, tls_stack)
            created = await ws_next(ws)
            await asyncio.to_thread(set_status, tls_stack, tls_admin,
                                    order["id"], "preparing")
            updated = await ws_next(ws)
            await ws.send('{"type":"ping"}')
            pong = await ws_next(ws)
            return hello, held, order, created, updated, pong
        finally:
            await ws.close()

    hello, held, order, created, updated, pong = run(scenario())
    assert hello["type"] == "connection"
    # The TLS session stays in Apache; the daemon has unix sockets only
    # (while Apache's parent, which listens, has TCP ones: the count works).
    assert held == 0
    assert tcp_sockets_of(tls_stack.procs["apache"].pid) >= 1
    assert created["type"] == "newOrder"
    assert created["order"]["id"] == order["id"]
    assert updated["type"] == "orderStatusUpdate"
    assert updated["order"]["id"] == order["id"]
    assert updated["status"] == "preparing"
    assert updated["previous_status"] == "pending"
    assert pong == {"type": "pong"}


def test_staff_socket_over_wss_with_the_subprotocol(tls_stack, tls_admin):
    async def scenario():
        ws = await ws_open(tls_stack, "/admin", subprotocols=[
            "timing.v1", "bearer." + tls_admin])
        try:
            return ws.subprotocol, await ws_next(ws)
        finally:
            await ws.close()

    proto, hello = run(scenario())
    assert proto == "timing.v1"
    assert hello["type"] == "connection"


def test_order_channel_over_wss_with_its_tracking_token(tls_stack,
                                                        tls_admin):
    mine, other = place(tls_stack), place(tls_stack)
    eventd = tls_stack.procs["eventd"].pid

    async def scenario():
        ws = await ws_open(tls_stack, "/orders/%d?tracking_token=%s"
                           % (mine["id"], mine["tracking_token"]))
        try:
            hello = await ws_next(ws)
            held = await asyncio.to_thread(tcp_sockets_of, eventd)
            await asyncio.to_thread(set_status, tls_stack, tls_admin,
                                    other["id"], "preparing")
            await asyncio.to_thread(set_status, tls_stack, tls_admin,
                                    mine["id"], "preparing")
            return hello, held, await ws_next(ws)
        finally:
            await ws.close()

    hello, held, update = run(scenario())
    assert hello["type"] == "connection"
    assert held == 0
    assert update["type"] == "orderStatusUpdate"
    assert update["order"]["id"] == mine["id"]
    assert update["status"] == "preparing"
    assert update["order"]["customer_info"]["phone"] == "081****678"


def test_order_channel_over_wss_credential_forms(tls_stack):
    order = place(tls_stack)
    path = "/orders/%d" % order["id"]
    assert upgrade_status(tls_stack, path, subprotocols=[
        "timing.v1", "tracking." + order["tracking_token"]]) == 101
    cookie = "timing_track_%d=%s" % (order["id"], order["tracking_token"])
    assert upgrade_status(tls_stack, path, headers={
        "Cookie": cookie,
        "Origin": "https://127.0.0.1:%d" % tls_stack.port}) == 101


def test_refusals_over_wss(tls_stack):
    order = place(tls_stack)
    path = "/orders/%d" % order["id"]
    assert upgrade_status(tls_stack, "/admin") == 401
    assert upgrade_status(tls_stack, "/admin?token=forged") == 401
    assert upgrade_status(tls_stack, path) == 401
    assert upgrade_status(tls_stack, path + "?token=forged") == 401
    assert upgrade_status(tls_stack, path + "?tracking_token=wrong") == 404
    customer = request(tls_stack, "POST", "/api/auth/register", body={
        "name": "Cust", "email": "tls%d@example.com"
        % random.randint(0, 10 ** 9), "password": "customer-pass"})
    assert customer.status == 201, customer
    assert upgrade_status(tls_stack, "/admin?token="
                          + customer.json["data"]["token"]) == 403
    cookie = "timing_track_%d=%s" % (order["id"], order["tracking_token"])
    assert upgrade_status(tls_stack, path, headers={
        "Cookie": cookie, "Origin": "https://evil.example"}) == 403


# -- H2WebSockets ----------------------------------------------------------

H2_WARNING = "WebSockets over HTTP/2 are not supported by Timing"


def config_check(stack, extra):
    """apache2 -t on the stack's configuration with mod_http2 loaded,
    HTTP/2 offered, and the extra lines."""
    return stack.config_test('LoadModule http2_module "%s/mod_http2.so"\n'
                             "Protocols h2 http/1.1\n%s"
                             % (stackmod.apxs_query("LIBEXECDIR"), extra))


@pytest.mark.parametrize("extra", [
    "H2WebSockets on",
    "<VirtualHost *:1>\n    H2WebSockets On\n</VirtualHost>",
])
def test_h2websockets_on_is_warned_about(tls_stack, extra):
    res = config_check(tls_stack, extra)
    if "Invalid command 'H2WebSockets'" in res.stderr:
        pytest.skip("this mod_http2 has no H2WebSockets (httpd < 2.4.58)")
    assert res.returncode == 0, res.stderr
    assert "Syntax OK" in res.stderr
    warnings = [line for line in res.stderr.splitlines()
                if H2_WARNING in line]
    assert len(warnings) == 1, res.stderr
    assert "TM00005" in warnings[0] and ":warn]" in warnings[0]
    assert "leave H2WebSockets off" in warnings[0]


@pytest.mark.parametrize("extra", ["", "H2WebSockets off",
                                   "<VirtualHost *:1>\n    H2WebSockets Off"
                                   "\n</VirtualHost>"])
def test_no_warning_without_h2websockets_on(tls_stack, extra):
    res = config_check(tls_stack, extra)
    if "Invalid command 'H2WebSockets'" in res.stderr:
        pytest.skip("this mod_http2 has no H2WebSockets (httpd < 2.4.58)")
    assert res.returncode == 0, res.stderr
    assert "Syntax OK" in res.stderr
    assert H2_WARNING not in res.stderr


def test_tunnels_stop_at_their_share(tmp_root):
    """TimingTunnelSockets: wss:// sockets hold a worker each, so they have
    a cap of their own (here 2) below TimingMaxSockets; the next is 503
    sockets_full, and a place comes back when one closes."""
    with running_stack(tmp_root, "tls-tunnels", tls=True, defines={
            "TIMING_TUNNEL_SOCKETS": "2",
            "TIMING_MAX_SOCKETS": "50"}) as capped:
        ans = request(capped, "POST", "/api/auth/login", body={
            "email": capped.admin_email, "password": capped.admin_password})
        assert ans.status == 200, ans
        path = "/admin?token=" + ans.json["data"]["token"]

        async def scenario():
            held = [await ws_open(capped, path) for _ in range(2)]
            for ws in held:
                await ws_next(ws)
            third = await asyncio.to_thread(upgrade_status, capped, path)
            await held[0].close()
            await asyncio.sleep(0.5)
            again = await ws_open(capped, path)
            welcome = await ws_next(again)
            for ws in held[1:] + [again]:
                await ws.close()
            return third, welcome

        third, welcome = run(scenario())
        assert third == 503
        assert welcome["type"] == "connection"
