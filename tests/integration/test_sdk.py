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


@pytest.mark.parametrize("script", SDK_TESTS)
def test_sdk(web_stack, script):
    rc, output = run_node(web_stack, "sdk/" + script, timeout=120)
    assert rc == 0, "node sdk/%s failed (exit %d):\n%s" % (script, rc, output)
