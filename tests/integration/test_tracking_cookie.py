# SPDX-License-Identifier: Apache-2.0
"""The tracking cookie (timing_track_<id>, set by POST /api/orders) is
`Secure` when the request came over HTTPS, as Apache decides it
(ap_http_scheme: mod_ssl, or `ServerName https://...` for a server behind
a TLS-terminating proxy), and never because of a header the client sent.

A stack of its own says `ServerName https://localhost`, as an operator
behind such a proxy does; it is reached over plain HTTP here, which is
what the proxy's hop looks like to Apache."""

import pytest

from client import random_loopback, request
from conftest import running_stack

BODY = {"customer_info": {"name": "Cookie"},
        "items": [{"menu_id": 1, "quantity": 1}]}


def cookie_attributes(ans):
    """The Set-Cookie of an answer: (name, value), then its attributes as
    a dict of lower-cased names."""
    text = ans.header("set-cookie")
    assert text, ans.headers
    first, *rest = [part.strip() for part in text.split(";")]
    attrs = {}
    for part in rest:
        name, _, value = part.partition("=")
        attrs[name.lower()] = value
    return first.split("=", 1), attrs


@pytest.fixture(scope="module")
def behind_tls(tmp_root):
    with running_stack(tmp_root, "behind-tls", defines={
            "TIMING_SERVER_NAME": "https://localhost"}) as s:
        yield s


def test_the_cookie_is_secure_when_the_server_is_https(behind_tls):
    ans = request(behind_tls, "POST", "/api/orders", body=BODY)
    assert ans.status == 201, ans
    (name, value), attrs = cookie_attributes(ans)
    order = ans.json["data"]
    assert name == "timing_track_%d" % order["id"]
    assert value == order["tracking_token"]
    assert "secure" in attrs, ans.header("set-cookie")
    assert "httponly" in attrs
    assert attrs["samesite"] == "Lax"
    assert attrs["path"] == "/"
    assert attrs["max-age"] == str(7 * 86400)
    # The cookie still reads the order.
    got = request(behind_tls, "GET", "/api/orders/%d/status" % order["id"],
                  headers={"Cookie": "%s=%s" % (name, value)})
    assert got.status == 200, got


def test_a_replayed_answer_sets_a_secure_cookie_too(behind_tls):
    source = random_loopback()
    headers = {"Idempotency-Key": "cookie-replay-" + source}
    first = request(behind_tls, "POST", "/api/orders", body=BODY,
                    headers=headers, source=source)
    again = request(behind_tls, "POST", "/api/orders", body=BODY,
                    headers=headers, source=source)
    assert first.status == again.status == 201, (first, again)
    assert again.header("idempotent-replayed") == "true"
    assert "secure" in cookie_attributes(again)[1], again.headers


@pytest.mark.parametrize("headers", [
    {},
    {"X-Forwarded-Proto": "https"},
    {"X-Forwarded-Ssl": "on", "Front-End-Https": "on"},
    {"Forwarded": "for=192.0.2.1;proto=https"},
    {"X-Forwarded-Proto": "https", "X-Forwarded-Port": "443",
     "X-Forwarded-Scheme": "https", "X-Url-Scheme": "https"},
])
def test_a_plain_http_server_sets_no_secure_cookie(stack, headers):
    """Plain HTTP, whatever the client claims: a Secure cookie would not
    come back over http://, and trusting the client's word is never
    right."""
    ans = request(stack, "POST", "/api/orders", body=BODY, headers=headers)
    assert ans.status == 201, ans
    (name, _), attrs = cookie_attributes(ans)
    assert name.startswith("timing_track_")
    assert "secure" not in attrs, ans.header("set-cookie")
    assert "httponly" in attrs and attrs["samesite"] == "Lax"
