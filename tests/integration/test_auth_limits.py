# SPDX-License-Identifier: Apache-2.0
"""Registrations and successful logins are limited per client address
(issue 15): each costs a bcrypt, so an address that could ask for them
without end could keep Apache's CPUs busy.  The defaults are on the
shared stack (TimingRegisterRateLimit 20 an hour, TimingLoginRateLimit 30
a minute); a stack of its own shows that 0 lifts them.  Each test sends
from an address of its own (all of 127.0.0.0/8 is loopback), so the
limits of one test never reach another.  IPv6 addresses count by their
/64: the unit tests check that mapping (tests/unit/test_module_pure.c)."""

import uuid

import pytest

from client import random_loopback, request
from conftest import running_stack

REGISTER_LIMIT = 20         # mod_timing.h's defaults
LOGIN_LIMIT = 30


def unique_email(prefix):
    return "%s-%s@example.com" % (prefix, uuid.uuid4().hex[:12])


def register(stack, source, email=None, password="customer-pass-1"):
    return request(stack, "POST", "/api/auth/register", source=source, body={
        "name": "Limit Customer", "email": email or unique_email("limit"),
        "password": password})


def login(stack, source, email=None, password=None):
    return request(stack, "POST", "/api/auth/login", source=source, body={
        "email": email or stack.admin_email,
        "password": password or stack.admin_password})


def assert_limited(ans, most):
    assert ans.status == 429, ans
    assert ans.header("content-type") == "application/json; charset=utf-8"
    assert ans.json["success"] is False
    assert ans.json["error"]["code"] == "rate_limited", ans
    assert 1 <= int(ans.header("retry-after")) <= most, ans.headers


def test_registrations_are_limited_per_address(stack):
    source = random_loopback()
    statuses = [register(stack, source).status
                for _ in range(REGISTER_LIMIT)]
    assert statuses == [201] * REGISTER_LIMIT
    ans = register(stack, source)
    assert_limited(ans, 3600)
    # Nothing was created by the refused one.
    email = unique_email("refused")
    assert_limited(register(stack, source, email=email), 3600)
    assert stack.mariadb("SELECT COUNT(*) FROM users WHERE email = '%s'"
                         % email) == [["0"]]
    # The contract's order holds: a body the API refuses is refused for
    # that reason first, limited address or not.
    bad = request(stack, "POST", "/api/auth/register", source=source,
                  body={"name": "No Password", "email": unique_email("x")})
    assert bad.status == 422, bad
    bad = request(stack, "POST", "/api/auth/register", source=source,
                  body=b"{not json", headers={
                      "Content-Type": "application/json"})
    assert bad.status == 400, bad
    # Another address registers as before.
    assert register(stack, random_loopback()).status == 201


def test_successful_logins_are_limited_per_address(stack):
    source = random_loopback()
    statuses = [login(stack, source).status for _ in range(LOGIN_LIMIT)]
    assert statuses == [200] * LOGIN_LIMIT
    assert_limited(login(stack, source), 60)
    # A wrong password from there is no way around it.
    assert_limited(login(stack, source, password="wrong-password"), 60)
    bad = request(stack, "POST", "/api/auth/login", source=source,
                  body={"email": stack.admin_email})
    assert bad.status == 422, bad
    # The account is not locked: from elsewhere it logs in.
    assert login(stack, random_loopback()).status == 200


def test_failed_logins_keep_their_own_limit(stack):
    """Failures do not use up the address's logins (they have their own
    limit, 50 in 15 minutes): a right password still gets in after more
    failures than the login limit allows logins."""
    source = random_loopback()
    for i in range(LOGIN_LIMIT + 5):
        ans = login(stack, source, email=unique_email("nobody"),
                    password="whatever-%d" % i)
        assert ans.status == 401, ans
    assert login(stack, source).status == 200


@pytest.mark.parametrize("line, message", [
    ("TimingRegisterRateLimit lots", "TimingRegisterRateLimit must be"),
    ("TimingRegisterRateLimit -1", "TimingRegisterRateLimit must be"),
    ("TimingLoginRateLimit 1000001", "TimingLoginRateLimit must be"),
    ("TimingLoginRateLimit 10/min", "TimingLoginRateLimit must be"),
])
def test_bad_limits_fail_the_config_check(stack, line, message):
    res = stack.config_test(line)
    assert res.returncode != 0
    assert message in res.stderr, res.stderr


def test_good_limits_pass_the_config_check(stack):
    res = stack.config_test("TimingRegisterRateLimit 0\n"
                            "TimingLoginRateLimit 100")
    assert res.returncode == 0, res.stderr


@pytest.fixture(scope="module")
def lifted(tmp_root):
    with running_stack(tmp_root, "limits-lifted", defines={
            "TIMING_REGISTER_RATE_LIMIT": "0",
            "TIMING_LOGIN_RATE_LIMIT": "0"}) as s:
        yield s


def test_0_lifts_the_limits(lifted):
    source = random_loopback()
    assert [register(lifted, source).status
            for _ in range(REGISTER_LIMIT + 2)] == [201] * (REGISTER_LIMIT + 2)
    assert [login(lifted, source).status
            for _ in range(LOGIN_LIMIT + 2)] == [200] * (LOGIN_LIMIT + 2)
