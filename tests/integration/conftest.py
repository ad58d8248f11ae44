# SPDX-License-Identifier: Apache-2.0
"""Fixtures for the integration tests: one real stack per test session
(MariaDB, Apache with the built mod_timing, the ASan build of
timing-eventd) on a free port in a temporary directory, torn down even
when tests fail."""

import contextlib
import os
import shutil
import sys
import tempfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
CHECKOUT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(CHECKOUT, "scripts"))
sys.path.insert(0, HERE)

import stack as stackmod  # noqa: E402

ASAN_EVENTD = os.path.join(CHECKOUT, "build", "asan", "timing-eventd")


free_port = stackmod.free_port


def sanitizer_reports(path):
    """Lines of a log that AddressSanitizer or UBSan wrote."""
    if not os.path.exists(path):
        return []
    with open(path, errors="replace") as f:
        return [line.rstrip() for line in f
                if "AddressSanitizer" in line or "runtime error:" in line
                or "LeakSanitizer" in line]


def crash_reports(path):
    if not os.path.exists(path):
        return []
    with open(path, errors="replace") as f:
        return [line.rstrip() for line in f
                if "exit signal" in line or "Segmentation fault" in line]


def make_stack(tmp, **kw):
    return stackmod.Stack(os.path.join(tmp, "state"), os.path.join(tmp, "run"),
                          free_port(), eventd_bin=ASAN_EVENTD, **kw)


@pytest.fixture(scope="session")
def tmp_root():
    # Short and under /tmp: unix socket paths are limited to 107 bytes.
    tmp = tempfile.mkdtemp(prefix="timing-it-", dir="/tmp")
    os.chmod(tmp, 0o711)
    yield tmp
    if os.environ.get("TIMING_KEEP_TMP"):
        print("\nkept the test stack's files in", tmp)
    else:
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def running_stack(tmp_root, name, **kw):
    """A started stack in tmp_root/name, stopped even when the test fails;
    a sanitizer report from the daemon or a crash in Apache's log fails
    it."""
    s = make_stack(os.path.join(tmp_root, name), **kw)
    s.start()
    try:
        yield s
    finally:
        s.stop()
        problems = (sanitizer_reports(s.log_path("eventd"))
                    + crash_reports(s.log_path("apache")))
        assert not problems, "\n".join(problems)


@pytest.fixture(scope="session")
def handoff_stack(tmp_root):
    """The shared stack, as shipped: plaintext upgrades are handed off to
    timing-eventd (TimingWebSocketHandoff auto)."""
    with running_stack(tmp_root, "main") as s:
        yield s


@pytest.fixture(scope="session")
def stack(handoff_stack):
    return handoff_stack


@pytest.fixture(scope="session")
def handoff_token(handoff_stack):
    """A token from POST /api/auth/login with the provisioned admin."""
    from client import admin_login
    return admin_login(handoff_stack)


@pytest.fixture(scope="session")
def admin_token(handoff_token):
    return handoff_token


@pytest.fixture(scope="session")
def tunnel_stack(tmp_root):
    """A stack that tunnels every WebSocket through Apache
    (TimingWebSocketHandoff off): for what only the tunnel does, such as
    recycling an old Apache generation's sockets.  The SDK's restart test
    runs on it too, so its per-address limits are lifted as web_stack's."""
    with running_stack(tmp_root, "tunnel", defines={
            "TIMING_WEBSOCKET_HANDOFF": "off",
            "TIMING_ORDER_RATE_LIMIT": "0", "TIMING_REGISTER_RATE_LIMIT": "0",
            "TIMING_LOGIN_RATE_LIMIT": "0"}) as s:
        yield s


@pytest.fixture(scope="session")
def tunnel_token(tunnel_stack):
    from client import admin_login
    return admin_login(tunnel_stack)


# Both WebSocket paths.  A module whose tests must hold on each overrides
# its `stack` and `admin_token` with path_stack and path_token: every test
# then runs on the hand-off stack, then on the tunnel stack (test ids end
# in [handoff] and [tunnel]).
WS_PATHS = ("handoff", "tunnel")
# TimingWebSocketHandoff for each, for modules that start stacks of their
# own.
HANDOFF_SETTING = {"handoff": "auto", "tunnel": "off"}


@pytest.fixture(scope="module", params=WS_PATHS)
def ws_path(request):
    return request.param


@pytest.fixture(scope="module")
def path_stack(request, ws_path):
    return request.getfixturevalue(ws_path + "_stack")


@pytest.fixture(scope="module")
def path_token(request, ws_path):
    return request.getfixturevalue(ws_path + "_token")


@pytest.fixture(scope="session")
def web_stack(tmp_root):
    """A second stack for the SDK and browser tests: they restart its
    daemon, and place many orders, register and log in many times from one
    address (127.0.0.1, the only source a browser has), so it lifts the
    per-address limits on those (test_auth_limits.py and
    test_orders_api.py check them on the shared stack)."""
    with running_stack(tmp_root, "web", defines={
            "TIMING_ORDER_RATE_LIMIT": "0", "TIMING_REGISTER_RATE_LIMIT": "0",
            "TIMING_LOGIN_RATE_LIMIT": "0"}) as s:
        yield s


@pytest.fixture(scope="module")
def own_stack(tmp_root, request):
    """A stack of the test module's own, named after it (test_page_ends.py:
    page-ends), with the order limit lifted: for tests that count what
    they see or place many orders."""
    module = request.module.__name__.rsplit(".", 1)[-1]
    name = module[len("test_"):].replace("_", "-")
    with running_stack(tmp_root, name,
                       defines={"TIMING_ORDER_RATE_LIMIT": "0"}) as s:
        yield s


@pytest.fixture(scope="module")
def own_token(own_stack):
    """The provisioned admin's token on own_stack."""
    from client import admin_login
    return admin_login(own_stack)
