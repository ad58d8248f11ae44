# SPDX-License-Identifier: Apache-2.0
"""The client SDK (web/sdk/timing.js) in Node against the real stack: one
test per tests/node/sdk/*.test.mjs, with the `ws` package as WebSocket
(as on Node 18, which has none)."""

import glob
import os

import pytest

from conftest import CHECKOUT
from node_bridge import run_node

SDK_TESTS = sorted(os.path.basename(p) for p in glob.glob(
    os.path.join(CHECKOUT, "tests", "node", "sdk", "*.test.mjs")))


def test_sdk_tests_exist():
    assert SDK_TESTS, "no tests/node/sdk/*.test.mjs"


# Apache's graceful restart recycles only tunnelled sockets (handed-off
# ones stay, test_handoff.py): the script that restarts Apache runs on the
# stack with TimingWebSocketHandoff off.
ON_TUNNEL = {"live_restart.test.mjs"}


@pytest.mark.parametrize("script", SDK_TESTS)
def test_sdk(request, script):
    stack = request.getfixturevalue("tunnel_stack" if script in ON_TUNNEL
                                    else "web_stack")
    rc, output = run_node(stack, "sdk/" + script, timeout=120)
    assert rc == 0, "node sdk/%s failed (exit %d):\n%s" % (script, rc, output)
