# SPDX-License-Identifier: Apache-2.0
"""Masks keep text valid and tell nothing (issue 17): masked e-mails and
phones stay valid UTF-8 through REST and both WebSockets, and an
e-mail's local part is always its first character and three asterisks."""

import pytest

from client import place_order, put_status, request, run, ws_next, ws_open


@pytest.mark.parametrize("email,masked", [
    ("ñandu@example.com", "ñ***@example.com"),
    ("สม@example.com", "ส***@example.com"),
    ("somchai.longname@example.com", "s***@example.com"),
    ("a@example.com", "a***@example.com"),
])
def test_masked_contacts_stay_valid_through_a_move(own_stack, own_token, email,
                                                    masked):
    auth = ["timing.v1", "bearer." + own_token]

    async def go():
        staff = await ws_open(own_stack, "/admin", subprotocols=auth)
        await ws_next(staff)
        order = place_order(own_stack, "ñandu สม", email=email,
                            phone="0812345678")
        created = await ws_next(staff)
        customer = await ws_open(
            own_stack, "/orders/%d" % order["id"],
            subprotocols=["timing.v1", "tracking." + order["tracking_token"]])
        await ws_next(customer)
        seen = []
        for status in ("preparing", "ready"):
            ans = put_status(own_stack, own_token, order["id"], status)
            assert ans.status == 200, ans
            seen.append((await ws_next(staff), await ws_next(customer)))
        await staff.close()
        await customer.close()
        return order, created, seen

    order, created, seen = run(go())
    assert created["type"] == "newOrder"
    assert created["order"]["customer_info"]["email"] == email
    for (to_staff, to_customer), status in zip(seen, ("preparing", "ready")):
        assert to_staff["status"] == status
        assert to_staff["order"]["customer_info"]["email"] == email
        assert to_customer["status"] == status
        info = to_customer["order"]["customer_info"]
        assert info["email"] == masked, info
        assert info["phone"] == "081****678", info
    ans = request(own_stack, "GET", "/api/orders/%d/status?tracking_token=%s"
                  % (order["id"], order["tracking_token"]))
    assert ans.status == 200, ans
    assert ans.json["data"]["customer_info"]["email"] == masked
