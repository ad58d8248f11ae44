# SPDX-License-Identifier: Apache-2.0
"""`timing-eventd --name SHOP`: a daemon that serves one of several shops
on a server tags every log line with the shop, "timing-eventd[SHOP]:",
so the journal of a host with many shops says whose line it is; a name
that could not sit in a log line or a unit name is refused at start."""

import os
import subprocess

import pytest

from client import admin_login, place_order, run, ws_next, ws_open
from conftest import ASAN_EVENTD, make_stack


@pytest.mark.parametrize("name", ["", "two words", "a/b", "x" * 33,
                                  "shop\nforged: error: line", "ร้าน"])
def test_a_name_that_cannot_tag_a_line_is_refused(name):
    res = subprocess.run([ASAN_EVENTD, "--name", name], capture_output=True,
                         text=True, timeout=30)
    assert res.returncode == 2
    assert "bad value for --name" in res.stderr


def test_every_line_names_the_shop(tmp_root):
    stack = make_stack(os.path.join(tmp_root, "named"),
                       eventd_args=["--name", "shop-1.example_a",
                                    "--log-level", "debug"])
    stack.start()
    try:
        token = admin_login(stack)

        async def scenario():
            ws = await ws_open(stack, "/admin?token=" + token)
            try:
                assert (await ws_next(ws))["type"] == "connection"
                place_order(stack, "Named")
                assert (await ws_next(ws))["type"] == "newOrder"
            finally:
                await ws.close()

        run(scenario())
    finally:
        stack.stop()
    with open(stack.log_path("eventd"), encoding="utf-8",
              errors="replace") as f:
        lines = [ln for ln in f.read().splitlines()
                 if ln.startswith("timing-eventd")]
    assert len(lines) >= 3      # started, a session, an event at least
    assert all(ln.startswith("timing-eventd[shop-1.example_a]: ")
               for ln in lines), [ln for ln in lines if not ln.startswith(
                   "timing-eventd[shop-1.example_a]: ")][:3]
