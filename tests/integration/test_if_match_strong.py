# SPDX-License-Identifier: Apache-2.0
"""If-Match on PUT /api/admin/orders/:id/status uses strong comparison
(RFC 9110, issue 17): a weak validator never matches."""

from client import place_order, put_status


def test_if_match_compares_strongly(own_stack, own_token):
    order = place_order(own_stack, "ตรงกัน")
    oid = order["id"]
    for weak in ['W/"1"', 'W/"1", "7"', 'w/"1"']:
        ans = put_status(own_stack, own_token, oid, "preparing", weak)
        assert ans.status == 412, (weak, ans)
        assert ans.json["error"]["code"] == "precondition_failed"
    ans = put_status(own_stack, own_token, oid, "preparing", 'W/"1", "1"')
    assert ans.status == 200, ans
    assert ans.header("ETag") == '"2"'
    ans = put_status(own_stack, own_token, oid, "ready", "*")
    assert ans.status == 200, ans
    ans = put_status(own_stack, own_token, 999999999, "ready", "*")
    assert ans.status == 404, ans
