# SPDX-License-Identifier: Apache-2.0
"""JWT key rotation without logging everyone out: the new key goes into
TimingJWTSecretFile and signs; the old one, in
TimingJWTPreviousSecretFile, still verifies the tokens it signed until
the line is removed."""

import base64
import hashlib
import hmac
import os
import secrets

import pytest

from client import (admin_login as login, auth, make_jwt, request, run,
                    ws_next, ws_open)
from conftest import running_stack


@pytest.fixture(scope="module")
def rotating(tmp_root):
    with running_stack(tmp_root, "rotation") as s:
        yield s


def me(stack, token):
    return request(stack, "GET", "/api/auth/me",
                   headers=auth(token)).status


def signed_with(token, key):
    head, body, sig = token.split(".")
    mac = hmac.new(key.encode(), (head + "." + body).encode(),
                   hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode() == sig


def write_secret(path, value):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(value + "\n")


def restart_apache(stack):
    stack.stop_apache()
    stack.start_apache()


def staff_socket_opens(stack, token):
    async def scenario():
        ws = await ws_open(stack, "/admin",
                           subprotocols=["timing.v1", "bearer." + token])
        hello = await ws_next(ws)
        await ws.close()
        return hello["type"]
    return run(scenario()) == "connection"


def test_rotation_keeps_old_tokens_until_the_previous_key_goes(rotating):
    current = os.path.join(rotating.secrets_dir, "jwt.secret")
    previous = os.path.join(rotating.secrets_dir, "jwt.previous")
    with open(current) as f:
        old_key = f.read().strip()
    old_token = login(rotating)
    assert signed_with(old_token, old_key)
    admin_id = request(rotating, "GET", "/api/auth/me", headers=auth(
        old_token)).json["data"]["user"]["id"]

    # Rotate: the new key signs, the old one only verifies.
    new_key = secrets.token_hex(32)
    write_secret(previous, old_key)
    write_secret(current, new_key)
    rotating.defines["TIMING_JWT_PREVIOUS_SECRET_FILE"] = previous
    restart_apache(rotating)
    assert me(rotating, old_token) == 200
    assert staff_socket_opens(rotating, old_token)
    new_token = login(rotating)
    assert signed_with(new_token, new_key)
    assert not signed_with(new_token, old_key)
    assert me(rotating, new_token) == 200
    # Any token the old key signs verifies; a third key's does not.
    assert me(rotating, make_jwt(old_key, sub=str(admin_id))) == 200
    assert me(rotating, make_jwt(secrets.token_hex(32),
                                 sub=str(admin_id))) == 401

    # Once old tokens have expired the previous key is removed.
    del rotating.defines["TIMING_JWT_PREVIOUS_SECRET_FILE"]
    os.unlink(previous)
    restart_apache(rotating)
    assert me(rotating, old_token) == 401
    assert me(rotating, new_token) == 200
    assert not staff_socket_opens_or_refused(rotating, old_token)
    assert staff_socket_opens(rotating, new_token)


def staff_socket_opens_or_refused(stack, token):
    try:
        return staff_socket_opens(stack, token)
    except Exception as e:      # the upgrade is refused with 401
        assert "401" in str(e), e
        return False


@pytest.mark.parametrize("content, message", [
    ("short", "at least 32 bytes"),
    (None, "cannot read"),
])
def test_a_bad_previous_key_fails_the_config_check(rotating, tmp_path,
                                                  content, message):
    path = os.path.join(str(tmp_path), "previous.secret")
    if content is not None:
        write_secret(path, content)
    res = rotating.config_test("TimingJWTPreviousSecretFile " + path)
    assert res.returncode != 0
    assert "TimingJWTPreviousSecretFile" in res.stderr
    assert message in res.stderr, res.stderr
