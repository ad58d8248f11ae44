# SPDX-License-Identifier: Apache-2.0
"""An unknown epoch is a resync, not a refusal (issue 17): a resume whose
epoch is not the database's, whatever its characters, opens the socket
and gets resync."""

import pytest

from client import place_order, quote, run, ws_next, ws_open


EPOCHS = ["not-ours", "ไทย", "a b", "x" * 300, "", "%0D%0AX-Timing-Role: admin",
          "0" * 5000]


@pytest.mark.parametrize("epoch", EPOCHS, ids=lambda e: "%r" % e[:20])
def test_an_unknown_epoch_resumes_into_resync(own_stack, own_token, epoch):
    order = place_order(own_stack, "ยุค")
    auth = ["timing.v1", "bearer." + own_token]

    async def resume(path, subprotocols):
        ws = await ws_open(own_stack, path, subprotocols=subprotocols)
        first, second = await ws_next(ws), await ws_next(ws)
        await ws.close()
        return first, second

    query = "?last_event_id=1&epoch=" + quote(epoch)
    hello, nxt = run(resume("/admin" + query, auth))
    assert hello["type"] == "connection"
    assert nxt["type"] == "resync", nxt
    hello, nxt = run(resume(
        "/orders/%d%s" % (order["id"], query),
        ["timing.v1", "tracking." + order["tracking_token"]]))
    assert hello["type"] == "connection"
    assert nxt["type"] == "resync", nxt


def test_the_right_epoch_still_replays(own_stack, own_token):
    auth = ["timing.v1", "bearer." + own_token]

    async def go():
        ws = await ws_open(own_stack, "/admin", subprotocols=auth)
        hello = await ws_next(ws)
        await ws.close()
        place_order(own_stack, "ต่อ")
        ws = await ws_open(own_stack, "/admin?last_event_id=%d&epoch=%s"
                           % (hello["last_event_id"], hello["epoch"]),
                           subprotocols=auth)
        again, replayed = await ws_next(ws), await ws_next(ws)
        await ws.close()
        return again, replayed

    again, replayed = run(go())
    assert again["type"] == "connection"
    assert replayed["type"] == "newOrder", replayed
