# SPDX-License-Identifier: Apache-2.0
"""Pages end where the data ends (issue 17): meta.next_cursor is null on
the last page, also when that page is exactly full."""

from client import get_ok, place_order, quote, request


def test_an_exactly_full_last_page_of_orders_has_no_next_cursor(own_stack,
                                                                own_token):
    for i in range(3):
        place_order(own_stack, "หน้า %d" % i)
    total = get_ok(own_stack, "/api/admin/orders?limit=200",
                   own_token)["meta"]["count"]
    assert total >= 3
    page = get_ok(own_stack, "/api/admin/orders?limit=%d" % total, own_token)
    assert page["meta"]["count"] == total
    assert page["meta"]["next_cursor"] is None, page["meta"]
    # One short of everything still points at the rest, and the rest is
    # one order whose page ends there.
    page = get_ok(own_stack, "/api/admin/orders?limit=%d" % (total - 1),
                  own_token)
    cursor = page["meta"]["next_cursor"]
    assert cursor
    rest = get_ok(own_stack,
                  "/api/admin/orders?limit=1&cursor=" + quote(cursor),
                  own_token)
    assert rest["meta"] == {"next_cursor": None, "count": 1}


def test_an_exactly_full_last_page_of_my_orders_has_no_next_cursor(own_stack):
    ans = request(own_stack, "POST", "/api/auth/register", body={
        "name": "หน้าเต็ม", "email": "full-page@example.com",
        "password": "password-123"})
    assert ans.status == 201, ans
    mine = ans.json["data"]["token"]
    place_order(own_stack, token=mine)
    place_order(own_stack, token=mine)
    page = get_ok(own_stack, "/api/orders?limit=2", mine)
    assert page["meta"] == {"next_cursor": None, "count": 2}


def test_an_exactly_full_last_page_of_events_has_no_next_cursor(own_stack,
                                                                own_token):
    place_order(own_stack, "เหตุการณ์")
    everything = get_ok(own_stack, "/api/admin/events?after=0&limit=1000",
                        own_token)
    total = everything["meta"]["count"]
    newest = everything["data"][-1]["event_id"]
    assert everything["meta"]["next_cursor"] is None
    page = get_ok(own_stack, "/api/admin/events?after=0&limit=%d" % total,
                  own_token)
    assert page["meta"]["count"] == total
    assert page["meta"]["next_cursor"] is None, page["meta"]
    # Catching up page by page still reaches the newest event, and the
    # cursor of a page that is not the last is its last event.
    page = get_ok(own_stack,
                  "/api/admin/events?after=0&limit=%d" % (total - 1),
                  own_token)
    assert page["meta"]["next_cursor"] == page["data"][-1]["event_id"]
    rest = get_ok(own_stack, "/api/admin/events?after=%d&limit=1"
                  % page["meta"]["next_cursor"], own_token)
    assert [e["event_id"] for e in rest["data"]] == [newest]
    assert rest["meta"]["next_cursor"] is None


def test_lists_that_do_not_page_say_so(own_stack, own_token):
    for path in ("/api/menu", "/api/admin/users"):
        assert get_ok(own_stack, path,
                      own_token)["meta"]["next_cursor"] is None
