"""If-Match on PUT /api/admin/orders/:id/status uses strong comparison
(RFC 9110, issue 17): a weak validator never matches."""

import pytest

from client import admin_login, request
from conftest import running_stack


@pytest.fixture(scope="module")
def gaps(tmp_root):
    with running_stack(tmp_root, "if-match-strong",
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


def test_if_match_compares_strongly(gaps, token):
    order = place(gaps, "ตรงกัน")
    oid = order["id"]
    for weak in ['W/"1"', 'W/"1", "7"', 'w/"1"']:
        ans = put_status(gaps, token, oid, "preparing", weak)
        assert ans.status == 412, (weak, ans)
        assert ans.json["error"]["code"] == "precondition_failed"
    ans = put_status(gaps, token, oid, "preparing", 'W/"1", "1"')
    assert ans.status == 200, ans
    assert ans.header("ETag") == '"2"'
    ans = put_status(gaps, token, oid, "ready", "*")
    assert ans.status == 200, ans
    ans = put_status(gaps, token, 999999999, "ready", "*")
    assert ans.status == 404, ans
