# SPDX-License-Identifier: Apache-2.0
"""The foundation's endpoints on the real stack: health, shop, menu, and the
error envelope for everything else under /api/."""

import json

import pytest

from client import auth, jwt_secret, make_jwt, raw_request, request


def assert_envelope_error(ans, status, code=None):
    assert ans.status == status, ans
    assert ans.header("content-type") == "application/json; charset=utf-8"
    body = ans.json
    assert body["success"] is False
    assert isinstance(body["error"]["code"], str) and body["error"]["code"]
    assert isinstance(body["error"]["message"], str)
    if code:
        assert body["error"]["code"] == code, body


def test_health_reports_database_and_daemon(stack):
    ans = request(stack, "GET", "/api/health")
    assert ans.status == 200, ans
    assert ans.json == {"success": True,
                        "data": {"status": "ok", "db": "up", "events": "up"}}
    assert ans.header("cache-control") == "no-store"


def test_menu_lists_demo_items_with_thai_names(stack):
    ans = request(stack, "GET", "/api/menu")
    assert ans.status == 200, ans
    assert ans.header("content-type") == "application/json; charset=utf-8"
    items = ans.json["data"]
    assert 8 <= len(items) <= 12
    # Lists add meta.
    assert ans.json["meta"] == {"next_cursor": None, "count": len(items)}
    for item in items:
        assert set(item) >= {"id", "name", "description", "category",
                             "price", "available"}
        assert isinstance(item["id"], int)
        assert isinstance(item["price"], (int, float))
        assert isinstance(item["available"], bool)
    names = [i["name"] for i in items]
    assert "ผัดกะเพราไก่" in names           # UTF-8 intact end to end
    prices = {i["name"]: i["price"] for i in items}
    assert prices["Pad Thai"] == 60
    assert prices["Iced Latte"] == 65.5      # from 6550 minor units
    # The raw text carries the decimal exactly, not a binary fraction.
    assert b'"price":65.5,' in ans.body


def test_menu_matches_database(stack):
    rows = stack.mariadb("SELECT id, name, price_minor, available "
                         "FROM menu_items ORDER BY position, id")
    items = request(stack, "GET", "/api/menu").json["data"]
    assert [(i["id"], i["name"], round(i["price"] * 100), i["available"])
            for i in items] == \
        [(int(r[0]), r[1], int(r[2]), r[3] == "1") for r in rows]


def test_shop(stack):
    ans = request(stack, "GET", "/api/shop")
    assert ans.status == 200, ans
    shop = ans.json["data"]
    assert shop["currency"] == "THB"
    assert shop["timezone"] == "Asia/Bangkok"
    assert shop["accepting_orders"] is True
    assert "ไทมิ่ง" in shop["name"]


def test_head_has_no_body(stack):
    ans = request(stack, "HEAD", "/api/menu")
    assert ans.status == 200
    assert ans.body == b""


@pytest.mark.parametrize("path", ["/api/", "/api/nope", "/api/menu/",
                                  "/api/menu/1/x", "/api/health.json",
                                  "/api/MENU"])
def test_unknown_paths_are_404_envelopes(stack, path):
    assert_envelope_error(request(stack, "GET", path), 404, "not_found")


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
@pytest.mark.parametrize("path", ["/api/health", "/api/menu", "/api/shop"])
def test_wrong_method_is_405_with_allow(stack, method, path):
    ans = request(stack, method, path, body=b"{}",
                  headers={"Content-Type": "application/json"})
    assert_envelope_error(ans, 405, "method_not_allowed")
    assert ans.header("allow") == "GET, HEAD, OPTIONS"


def test_options_answers_allow(stack):
    ans = request(stack, "OPTIONS", "/api/menu")
    assert ans.status == 204
    assert ans.header("allow") == "GET, HEAD, OPTIONS"


@pytest.mark.parametrize("query", ["x=%zz", "x=%4", "x=%00", "x=%ff",
                                   "%c3%28=1", "a=%ED%A0%80"])
def test_malformed_query_is_400(stack, query):
    for path in ("/api/health", "/api/menu", "/api/shop"):
        assert_envelope_error(request(stack, "GET", path + "?" + query), 400,
                              "bad_query")


def test_unknown_query_parameters_are_ignored(stack):
    assert request(stack, "GET", "/api/menu?lang=th&x=%E0%B8%81").status == 200


class TestCredentials:
    """A credential that is present but invalid is a 401 everywhere, open
    endpoints included; a valid one is accepted."""

    def bad_tokens(self, stack):
        secret = jwt_secret(stack)
        return {
            "garbage": "not-a-jwt",
            "alg none": make_jwt(secret, header={"alg": "none",
                                                 "typ": "JWT"}),
            "HS512": make_jwt(secret, header={"alg": "HS512", "typ": "JWT"}),
            "RS256": make_jwt(secret, header={"alg": "RS256", "typ": "JWT"}),
            "wrong key": make_jwt(secret, key="x" * 40),
            "expired": make_jwt(secret, exp=1000000000, iat=999999000),
            "wrong issuer": make_jwt(secret, iss="someone-else"),
            "no exp": make_jwt(secret, exp=None),
            "bad role": make_jwt(secret, role="root"),
            "bad sub": make_jwt(secret, sub="1 OR 1=1"),
            "numeric sub": make_jwt(secret, sub=1),
            "tampered": make_jwt(secret)[:-3] + "AAA",
            "too long": "a" * 5000 + ".b.c",
        }

    def test_invalid_bearer_tokens_are_401(self, stack):
        for name, token in self.bad_tokens(stack).items():
            for path in ("/api/health", "/api/menu", "/api/shop"):
                ans = request(stack, "GET", path, headers=auth(token))
                assert ans.status == 401, (name, path, ans)
                assert_envelope_error(ans, 401, "invalid_token")
                assert ans.header("www-authenticate").startswith("Bearer")

    def test_non_bearer_authorization_is_401(self, stack):
        ans = request(stack, "GET", "/api/menu",
                      headers={"Authorization": "Basic YWRtaW46YWRtaW4="})
        assert_envelope_error(ans, 401, "invalid_token")

    def test_valid_token_is_accepted(self, stack):
        token = make_jwt(jwt_secret(stack))
        ans = request(stack, "GET", "/api/menu", headers=auth(token))
        assert ans.status == 200, ans


def test_body_over_limit_is_413(stack):
    ans = request(stack, "GET", "/api/menu", body=b"x" * (64 * 1024 + 1))
    assert_envelope_error(ans, 413, "payload_too_large")


def test_chunked_body_over_limit_is_413(stack):
    chunk = b"x" * 70000
    raw = (b"GET /api/menu HTTP/1.1\r\nHost: localhost\r\n"
           b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
           + b"%x\r\n" % len(chunk) + chunk + b"\r\n0\r\n\r\n")
    answer = raw_request(stack, raw)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), head
    assert json.loads(body)["error"]["code"] == "payload_too_large"


def test_broken_framing_is_refused_by_apache(stack):
    answer = raw_request(stack, b"GET /api/menu HTTP/1.1\r\nHost: x\r\n"
                                b"Content-Length: 5\r\nContent-Length: 7\r\n"
                                b"Connection: close\r\n\r\nhello")
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]


def test_static_page_is_served(stack):
    ans = request(stack, "GET", "/")
    assert ans.status == 200
    assert b"<title>Timing</title>" in ans.body
