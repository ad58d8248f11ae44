"""If-Match on PUT /api/admin/orders/:id/status uses strong comparison
(RFC 9110, issue 17): a weak validator never matches."""

import pytest

from client import admin_login, place_order, put_status
from conftest import running_stack


@pytest.fixture(scope="module")
def gaps(tmp_root):
    with running_stack(tmp_root, "if-match-strong",
                       defines={"TIMING_ORDER_RATE_LIMIT": "0"}) as s:
        yield s


@pytest.fixture(scope="module")
def token(gaps):
    return admin_login(gaps)


def test_if_match_compares_strongly(gaps, token):
    order = place_order(gaps, "ตรงกัน")
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
