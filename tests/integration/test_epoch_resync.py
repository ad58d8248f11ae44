"""An unknown epoch is a resync, not a refusal (issue 17): a resume whose
epoch is not the database's, whatever its characters, opens the socket
and gets resync."""

import pytest

from client import admin_login, quote, request, run, ws_next, ws_open
from conftest import running_stack


@pytest.fixture(scope="module")
def gaps(tmp_root):
    with running_stack(tmp_root, "epoch-resync",
                       defines={"TIMING_ORDER_RATE_LIMIT": "0"}) as s:
        yield s


@pytest.fixture(scope="module")
def token(gaps):
    return admin_login(gaps)


def place(stack, name="ลูกค้า", email=None, phone=None, token=None):
    info = {"name": name}
    if email:
        info["email"] = email
    if phone:
        info["phone"] = phone
    headers = {"Authorization": "Bearer " + token} if token else None
    ans = request(stack, "POST", "/api/orders", headers=headers, body={
        "customer_info": info, "items": [{"menu_id": 1, "quantity": 1}]})
    assert ans.status == 201, ans
    return ans.json["data"]


def get(stack, path, token):
    ans = request(stack, "GET", path,
                  headers={"Authorization": "Bearer " + token})
    assert ans.status == 200, ans
    return ans.json


def put_status(stack, token, order_id, status, if_match=None):
    headers = {"Authorization": "Bearer " + token}
    if if_match is not None:
        headers["If-Match"] = if_match
    return request(stack, "PUT", "/api/admin/orders/%d/status" % order_id,
                   headers=headers, body={"status": status})


EPOCHS = ["not-ours", "ไทย", "a b", "x" * 300, "", "%0D%0AX-Timing-Role: admin",
          "0" * 5000]


@pytest.mark.parametrize("epoch", EPOCHS, ids=lambda e: "%r" % e[:20])
def test_an_unknown_epoch_resumes_into_resync(gaps, token, epoch):
    order = place(gaps, "ยุค")
    auth = ["timing.v1", "bearer." + token]

    async def resume(path, subprotocols):
        ws = await ws_open(gaps, path, subprotocols=subprotocols)
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


def test_the_right_epoch_still_replays(gaps, token):
    auth = ["timing.v1", "bearer." + token]

    async def go():
        ws = await ws_open(gaps, "/admin", subprotocols=auth)
        hello = await ws_next(ws)
        await ws.close()
        place(gaps, "ต่อ")
        ws = await ws_open(gaps, "/admin?last_event_id=%d&epoch=%s"
                           % (hello["last_event_id"], hello["epoch"]),
                           subprotocols=auth)
        again, replayed = await ws_next(ws), await ws_next(ws)
        await ws.close()
        return again, replayed

    again, replayed = run(go())
    assert again["type"] == "connection"
    assert replayed["type"] == "newOrder", replayed
