"""Pages end where the data ends (issue 17): meta.next_cursor is null on
the last page, also when that page is exactly full."""

import pytest

from client import admin_login, get_ok, place_order, quote, request
from conftest import running_stack


@pytest.fixture(scope="module")
def gaps(tmp_root):
    with running_stack(tmp_root, "page-ends",
                       defines={"TIMING_ORDER_RATE_LIMIT": "0"}) as s:
        yield s


@pytest.fixture(scope="module")
def token(gaps):
    return admin_login(gaps)


def test_an_exactly_full_last_page_of_orders_has_no_next_cursor(gaps, token):
    for i in range(3):
        place_order(gaps, "หน้า %d" % i)
    total = get_ok(gaps, "/api/admin/orders?limit=200", token)["meta"]["count"]
    assert total >= 3
    page = get_ok(gaps, "/api/admin/orders?limit=%d" % total, token)
    assert page["meta"]["count"] == total
    assert page["meta"]["next_cursor"] is None, page["meta"]
    # One short of everything still points at the rest, and the rest is
    # one order whose page ends there.
    page = get_ok(gaps, "/api/admin/orders?limit=%d" % (total - 1), token)
    cursor = page["meta"]["next_cursor"]
    assert cursor
    rest = get_ok(gaps, "/api/admin/orders?limit=1&cursor=" + quote(cursor),
               token)
    assert rest["meta"] == {"next_cursor": None, "count": 1}


def test_an_exactly_full_last_page_of_my_orders_has_no_next_cursor(gaps):
    ans = request(gaps, "POST", "/api/auth/register", body={
        "name": "หน้าเต็ม", "email": "full-page@example.com",
        "password": "password-123"})
    assert ans.status == 201, ans
    mine = ans.json["data"]["token"]
    place_order(gaps, token=mine)
    place_order(gaps, token=mine)
    page = get_ok(gaps, "/api/orders?limit=2", mine)
    assert page["meta"] == {"next_cursor": None, "count": 2}


def test_an_exactly_full_last_page_of_events_has_no_next_cursor(gaps, token):
    place_order(gaps, "เหตุการณ์")
    everything = get_ok(gaps, "/api/admin/events?after=0&limit=1000", token)
    total = everything["meta"]["count"]
    newest = everything["data"][-1]["event_id"]
    assert everything["meta"]["next_cursor"] is None
    page = get_ok(gaps, "/api/admin/events?after=0&limit=%d" % total, token)
    assert page["meta"]["count"] == total
    assert page["meta"]["next_cursor"] is None, page["meta"]
    # Catching up page by page still reaches the newest event, and the
    # cursor of a page that is not the last is its last event.
    page = get_ok(gaps, "/api/admin/events?after=0&limit=%d" % (total - 1),
               token)
    assert page["meta"]["next_cursor"] == page["data"][-1]["event_id"]
    rest = get_ok(gaps, "/api/admin/events?after=%d&limit=1"
               % page["meta"]["next_cursor"], token)
    assert [e["event_id"] for e in rest["data"]] == [newest]
    assert rest["meta"]["next_cursor"] is None


def test_lists_that_do_not_page_say_so(gaps, token):
    for path in ("/api/menu", "/api/admin/users"):
        assert get_ok(gaps, path, token)["meta"]["next_cursor"] is None
