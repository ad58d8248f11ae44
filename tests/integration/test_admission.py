# SPDX-License-Identifier: Apache-2.0
"""Who gets a WebSocket when sockets are scarce (timing-eventd admits them,
against the limits mod_timing seals into every upgrade):

- one order's customer sockets stop at TimingOrderSockets (429 with
  Retry-After), however many tracking-token holders try at once; staff
  watching that order are not counted against it;
- one client address's customer sockets stop at TimingAddressSockets (an
  IPv4 address here; IPv6 counts by /64, which the unit tests cover);
- customers never take the TimingStaffSockets kept for staff (503), and
  past TimingMaxSockets everyone gets 503 with Retry-After;
- a place is given back when its socket closes.

Upgrades go over raw sockets from chosen 127.x addresses, and are held
open while the next ones are tried."""

import base64
import os
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from client import admin_login, auth, place_order, random_loopback, request
from conftest import running_stack


@pytest.fixture(scope="module")
def capped(tmp_root):
    with running_stack(tmp_root, "admission", defines={
            "TIMING_MAX_SOCKETS": "8", "TIMING_STAFF_SOCKETS": "3",
            "TIMING_ORDER_SOCKETS": "2",
            "TIMING_ADDRESS_SOCKETS": "3"}) as s:
        yield s


@pytest.fixture(scope="module")
def staff_token(capped):
    return admin_login(capped)


class Held:
    """Upgrades held open; closed at the end of each test."""

    def __init__(self):
        self.socks = []

    def close(self):
        for s in self.socks:
            s.close()
        self.socks = []


@pytest.fixture
def held():
    h = Held()
    yield h
    h.close()
    time.sleep(0.3)     # let the daemon see the closes before the next test


def upgrade(stack, held, path, protocols, source=None):
    """(status, headers, body) of an upgrade; a 101's socket is kept."""
    s = socket.create_connection(("127.0.0.1", stack.port), timeout=15,
                                 source_address=(source or random_loopback(),
                                                 0))
    lines = ["GET %s HTTP/1.1" % path, "Host: 127.0.0.1:%d" % stack.port,
             "Upgrade: websocket", "Connection: Upgrade",
             "Sec-WebSocket-Key: " + base64.b64encode(os.urandom(16)).decode(),
             "Sec-WebSocket-Version: 13",
             "Sec-WebSocket-Protocol: " + ", ".join(protocols)]
    s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split()[1])
    headers = {}
    for line in head.decode("latin-1").split("\r\n")[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    if status == 101:
        held.socks.append(s)
    else:
        while len(body) < int(headers.get("content-length", "0")):
            chunk = s.recv(4096)
            if not chunk:
                break
            body += chunk
        s.close()
    return status, headers, body


def tracking(order):
    return ["timing.v1", "tracking." + order["tracking_token"]]


def test_one_order_gets_its_share_and_then_429(capped, staff_token, held):
    order = place_order(capped)
    path = "/orders/%d" % order["id"]
    assert upgrade(capped, held, path, tracking(order))[0] == 101
    assert upgrade(capped, held, path, tracking(order))[0] == 101
    status, headers, body = upgrade(capped, held, path, tracking(order))
    assert status == 429, (status, body)
    assert int(headers["retry-after"]) > 0
    assert b'"code":"order_sockets_exceeded"' in body
    # Staff watching the same order are not a customer's share.
    assert upgrade(capped, held, path,
                   ["timing.v1", "bearer." + staff_token])[0] == 101
    # A place comes back when a socket closes.
    held.socks.pop(0).close()
    time.sleep(0.3)
    assert upgrade(capped, held, path, tracking(order))[0] == 101


def test_concurrent_upgrades_of_one_order_take_exactly_its_share(capped,
                                                                 held):
    order = place_order(capped)
    path = "/orders/%d" % order["id"]
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(
            lambda _: upgrade(capped, held, path, tracking(order))[0],
            range(8)))
    assert sorted(statuses) == [101, 101] + [429] * 6, statuses


def test_one_address_gets_its_share_and_then_429(capped, held):
    source, other = random_loopback(), random_loopback()
    orders = [place_order(capped) for _ in range(4)]
    for o in orders[:3]:
        assert upgrade(capped, held, "/orders/%d" % o["id"], tracking(o),
                       source)[0] == 101
    status, headers, body = upgrade(capped, held,
                                    "/orders/%d" % orders[3]["id"],
                                    tracking(orders[3]), source)
    assert status == 429 and int(headers["retry-after"]) > 0, body
    assert b'"code":"address_sockets_exceeded"' in body
    # Another address is not held back by the first one's share.
    assert upgrade(capped, held, "/orders/%d" % orders[3]["id"],
                   tracking(orders[3]), other)[0] == 101


def test_customers_leave_the_staff_share_and_everyone_stops_at_the_cap(
        capped, staff_token, held):
    # 8 sockets, 3 kept for staff: customers get 5 (one per order and
    # address, so no other share interferes).
    for _ in range(5):
        o = place_order(capped)
        assert upgrade(capped, held, "/orders/%d" % o["id"],
                       tracking(o))[0] == 101
    o = place_order(capped)
    status, headers, body = upgrade(capped, held, "/orders/%d" % o["id"],
                                    tracking(o))
    assert status == 503 and int(headers["retry-after"]) > 0, body
    # Staff still get in, up to the whole capacity ...
    staff = ["timing.v1", "bearer." + staff_token]
    for _ in range(3):
        assert upgrade(capped, held, "/admin", staff)[0] == 101
    # ... and past it nobody does.
    status, headers, body = upgrade(capped, held, "/admin", staff)
    assert status == 503 and int(headers["retry-after"]) > 0, body
    # REST is untouched by any of it.
    assert request(capped, "GET", "/api/menu").status == 200
    stats = request(capped, "GET", "/api/admin/websocket/stats",
                    headers=auth(staff_token)).json["data"]
    assert stats["connections"]["total"] == 8, stats
