# SPDX-License-Identifier: Apache-2.0
"""Logs keep credentials and personal data out.  A stack with mod_timing's
debug messages and the daemon at debug level runs the typical operations
-- logins (good and bad), an order with a phone and e-mail, tracking by
query string, cookie and subprotocol, staff and customer WebSockets with
credentials in the URL, refused upgrades, a status change, a cancel, a
resync, a daemon restart -- and then no line of Apache's error log, its
access logs or the daemon's log may hold a token, tracking token,
password, or the customer's phone, e-mail or name.  The access log of
conf/timing-logging.conf (the example for real servers) must log the
WebSocket paths and credential-bearing query strings without their query
string, and other requests as usual."""

import os
import re
import time

import pytest
import websockets

from client import (admin_login, auth, make_jwt, place_order, request, run,
                    ws_next, ws_open)
from conftest import make_stack

PHONE = "0891234567"
EMAIL = "pim.secret@example.com"
NAME = "พิมพ์ใจ ลับเฉพาะ"


@pytest.fixture(scope="module")
def logged(tmp_root):
    root = os.path.join(tmp_root, "logs")
    s = make_stack(root, defines={
        "TIMING_LOG_DEBUG": "1",
        "TIMING_ACCESS_LOG": os.path.join(root, "state", "logs",
                                          "example-access.log")},
        eventd_args=["--log-level", "debug"])
    s.start()
    try:
        yield s
    finally:
        s.stop()


def read(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def scenario(stack):
    """The operations; returns the secrets they used."""
    secret = {"admin password": stack.admin_password, "phone": PHONE,
              "email": EMAIL, "name": NAME}
    admin = admin_login(stack)
    secret["admin token"] = admin
    customer_password = "customer-secret-pw"
    ans = request(stack, "POST", "/api/auth/register", body={
        "name": "Logged Customer", "email": "logged.customer@example.com",
        "password": customer_password})
    customer = ans.json["data"]["token"]
    secret.update({"customer password": customer_password,
                   "customer token": customer})
    # A wrong password and a forged token are refused, and logged as such.
    request(stack, "POST", "/api/auth/login", body={
        "email": "logged.customer@example.com", "password": "wrong-guess-pw"})
    forged = make_jwt("f" * 64)
    secret["forged token"] = forged
    assert request(stack, "GET", "/api/auth/me",
                   headers=auth(forged)).status == 401

    order = place_order(stack, NAME, EMAIL, PHONE, token=customer,
                        note="call " + PHONE,
                        headers={"Idempotency-Key": "logs-order-1"})
    oid, tracking = order["id"], order["tracking_token"]
    secret["tracking token"] = tracking
    cookie = "timing_track_%d=%s" % (oid, tracking)
    path = "/api/orders/%d/status" % oid
    assert request(stack, "GET", path + "?tracking_token="
                   + tracking).status == 200
    assert request(stack, "GET", path, headers={"Cookie": cookie}).status \
        == 200
    assert request(stack, "GET", path + "?tracking_token=" + "x" * 40
                   ).status == 404
    assert request(stack, "GET", "/api/menu?lang=th").status == 200

    async def sockets():
        staff = await ws_open(stack, "/admin?token=" + admin)
        hello = await ws_next(staff)
        cust = await ws_open(stack, "/orders/%d?tracking_token=%s"
                             % (oid, tracking))
        await ws_next(cust)
        sub = await ws_open(stack, "/orders/%d" % oid, subprotocols=[
            "timing.v1", "tracking." + tracking])
        await ws_next(sub)
        # Refused upgrades: a bad token in the URL, a wrong tracking token.
        for bad in ("/admin?token=" + forged,
                    "/orders/%d?tracking_token=%s" % (oid, "y" * 40)):
            try:
                await ws_open(stack, bad)
                raise AssertionError("upgrade was not refused: " + bad)
            except websockets.InvalidStatusCode:
                pass
        # A status change reaches both; then the customer cancels another.
        assert request(stack, "PUT", "/api/admin/orders/%d/status" % oid,
                       body={"status": "preparing"},
                       headers=auth(admin)).status == 200
        await ws_next(staff)
        await ws_next(cust)
        # A resume from beyond anything the daemon has: resync.
        resumed = await ws_open(stack, "/admin?last_event_id=%d&epoch=%s"
                                % (hello["last_event_id"] + 10000,
                                   hello["epoch"]), subprotocols=[
            "timing.v1", "bearer." + admin])
        await ws_next(resumed)
        assert (await ws_next(resumed))["type"] == "resync"
        for ws in (staff, cust, sub, resumed):
            await ws.close()
    run(sockets())

    order = place_order(stack, NAME, EMAIL, PHONE)
    second, second_tracking = order["id"], order["tracking_token"]
    secret["second tracking token"] = second_tracking
    assert request(stack, "POST", "/api/orders/%d/cancel?tracking_token=%s"
                   % (second, second_tracking)).status == 200
    # The daemon stops and starts: its start and stop lines.
    stack.stop_eventd()
    stack.start_eventd()
    request(stack, "GET", "/api/health")
    time.sleep(0.5)     # let the last lines reach the files
    return secret


def test_no_log_line_holds_a_credential_or_personal_data(logged):
    secret = scenario(logged)
    logs = {
        "apache error log": logged.log_path("apache"),
        "access log": os.path.join(logged.server_root, "logs",
                                   "access.log"),
        "example access log": logged.log_path("example-access"),
        "daemon log": logged.log_path("eventd"),
    }
    texts = {name: read(path) for name, path in logs.items()}
    # The scenario did produce lines (debug included) to look through.
    assert "TM00202" in texts["apache error log"]      # token refused
    assert "TM00203" in texts["apache error log"]      # login refused
    assert "/orders/" in texts["access log"]
    assert re.search(r"session \S+ opened on the admin channel",
                     texts["daemon log"])
    for what, value in secret.items():
        needles = [value]
        if value.count(".") == 2:           # a JWT: its signature too
            needles.append(value.rsplit(".", 1)[1])
        for name, text in texts.items():
            for needle in needles:
                assert needle not in text, "%s in the %s" % (what, name)


def test_the_daemon_logs_one_line_per_significant_event(logged):
    text = read(logged.log_path("eventd"))
    for pattern in (r"timing-eventd: info: ready",
                    r"timing-eventd: info: SIGTERM: shutting down",
                    r"timing-eventd: info: exiting",
                    r"timing-eventd: info: session \S+: resync \(\w+\)"):
        assert re.search(pattern, text), pattern
    for line in text.splitlines():
        assert line.startswith("timing-eventd: "), line


def test_the_example_access_log_leaves_credential_queries_out(logged):
    text = read(logged.log_path("example-access"))
    lines = text.splitlines()
    ws = [l for l in lines if re.search(r'"GET /(admin|orders/)', l)]
    assert ws, text[-2000:]
    assert not any("?" in l.split('"')[1] for l in ws), ws
    status = [l for l in lines if "/status" in l]
    assert status and not any("tracking_token" in l for l in status)
    # Requests without a credential keep their query string.
    assert any('"GET /api/menu?lang=th HTTP/1.1"' in l for l in lines)
