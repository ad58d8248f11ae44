# SPDX-License-Identifier: Apache-2.0
"""The integration guide's TimingOrderClient, verbatim, in Node against
the real stack: it must receive newOrder and orderStatusUpdate."""

import json
import os
import subprocess

from conftest import CHECKOUT

SCRIPT = os.path.join(CHECKOUT, "tests", "node", "guide_client.mjs")


def test_guide_client_receives_both_events(stack, admin_token):
    res = subprocess.run(["node", SCRIPT, str(stack.port), admin_token],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    result = json.loads(res.stdout.strip().splitlines()[-1])
    assert result["put"] == 200
    assert result["seen"]["newOrder"]["id"] == result["id"]
    assert result["seen"]["newOrder"]["status"] == "pending"
    assert result["seen"]["update"] == {"id": result["id"],
                                        "status": "preparing"}
