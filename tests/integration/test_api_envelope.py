# SPDX-License-Identifier: Apache-2.0
"""Every answer under /api is the JSON envelope (issue 17), also the ones
Apache itself gives before <Location> applies; elsewhere Apache's own
HTML stays."""

import json

import pytest

from client import raw_request


def split(answer):
    head, _, body = answer.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    headers = {}
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower().decode()] = value.strip().decode()
    if headers.get("transfer-encoding") == "chunked":
        out, rest = b"", body
        while True:
            size, _, rest = rest.partition(b"\r\n")
            n = int(size, 16)
            if n == 0:
                break
            out, rest = out + rest[:n], rest[n + 2:]
        body = out
    return status, headers, body


def raw_get(stack, target):
    return split(raw_request(stack, b"GET " + target + b" HTTP/1.1\r\n"
                                    b"Host: localhost\r\n"
                                    b"Connection: close\r\n\r\n"))


@pytest.mark.parametrize("target,status", [
    (b"/api", 404),
    (b"/api?x=1", 404),
    (b"/api/orders/%00/status", 404),
    (b"/api/orders/1%2F2/status", 404),
    (b"/api/admin/orders/%2F", 404),
    (b"/api/orders/%zz/status", 400),
    (b"/api/menu?q=" + b"a" * 9000, 414),
    (b"/api/" + b"a" * 9000, 414),
], ids=lambda v: v[:40].decode() if isinstance(v, bytes) else str(v))
def test_apache_answers_under_api_carry_the_envelope(own_stack, target,
                                                     status):
    got, headers, body = raw_get(own_stack, target)
    assert got == status, (target[:60], got, body[:200])
    assert headers.get("content-type", "").startswith("application/json"), \
        (target[:60], headers, body[:200])
    doc = json.loads(body)
    assert doc["success"] is False and doc["error"]["code"], doc


@pytest.mark.parametrize("raw", [
    b"GET /api/menu HTTP/1.1\r\nHost: localhost\r\nX-Big: " + b"b" * 9000
    + b"\r\nConnection: close\r\n\r\n",
    b"GET /api/menu HTTP/1.1 extra\r\nHost: localhost\r\n"
    b"Connection: close\r\n\r\n",
], ids=["header-over-limit", "broken-request-line"])
def test_requests_apache_refuses_while_reading_carry_the_envelope(own_stack,
                                                                  raw):
    got, headers, body = split(raw_request(own_stack, raw))
    assert got in (400, 431), (got, body[:200])
    assert headers.get("content-type", "").startswith("application/json"), \
        (headers, body[:200])
    assert json.loads(body)["success"] is False


@pytest.mark.parametrize("target,status", [
    (b"/apiary", 404),
    (b"/nothing%2Fhere", 404),
    (b"/nothing%00here", 404),
    (b"/" + b"a" * 9000, 414),
], ids=lambda v: v[:40].decode() if isinstance(v, bytes) else str(v))
def test_apache_answers_elsewhere_stay_html(own_stack, target, status):
    got, headers, body = raw_get(own_stack, target)
    assert got == status, (target[:60], got, body[:200])
    assert headers.get("content-type", "").startswith("text/html"), \
        (target[:60], headers, body[:200])
