# SPDX-License-Identifier: Apache-2.0
"""The pages in Debian's chromium, driven by playwright-core: each
tests/node/browser/<name>.test.mjs runs against the web stack and saves
its screenshots in build/screenshots/."""

import glob
import os

import pytest

from node_bridge import NODE_DIR, run_node

SCRIPTS = sorted(os.path.relpath(p, NODE_DIR) for p in
                 glob.glob(os.path.join(NODE_DIR, "browser", "*.test.mjs"))
                 if not p.endswith("api_docs.test.mjs"))


@pytest.mark.parametrize("script", SCRIPTS)
def test_browser(web_stack, script):
    rc, output = run_node(web_stack, script, timeout=300)
    assert rc == 0, output
