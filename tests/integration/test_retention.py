# SPDX-License-Identifier: Apache-2.0
"""Retention: scripts/timing-maintain, with the Timing*Retention directives
read from the stack's own Apache configuration, prunes old events (and
the event log answers 410 events_pruned to a reader whose `after` is
below them), old Idempotency-Key answers and rate-limit attempts, and
erases customers' details (PDPA) of orders last changed long ago, finished
or left open: name, phone, e-mail, notes, the reasons staff gave for their
status changes, and the stored Idempotency-Key answers that repeat them.
Data is aged by moving its timestamps back, as the database
administrator."""

import pytest

from client import admin_login, auth, place_order, post_order, request
from conftest import running_stack

PDPA_DAYS = 60


@pytest.fixture(scope="module")
def kept(tmp_root):
    with running_stack(tmp_root, "retention", defines={
            "TIMING_ORDER_RATE_LIMIT": "0",
            "TIMING_PERSONAL_DATA_RETENTION": "%dd" % PDPA_DAYS}) as s:
        yield s


def login(stack):
    """The admin's credential, as request headers."""
    return auth(admin_login(stack))


def order_of(name):
    """An order with every personal field filled in (post_order's
    arguments)."""
    return {"name": name, "phone": "0812345678",
            "email": name.replace(" ", ".").lower() + "@example.com",
            "note": "ring " + name,
            "items": [{"menu_id": 1, "quantity": 2, "note": "for " + name}]}


def place(stack, name, key=None):
    return place_order(stack, **order_of(name), headers={
        "Idempotency-Key": key} if key else None)["id"]


def move(stack, auth, oid, *steps, reason=None):
    for status in steps:
        body = {"status": status}
        if reason:
            body["reason"] = reason
        ans = request(stack, "PUT", "/api/admin/orders/%d/status" % oid,
                      body=body, headers=auth)
        assert ans.status == 200, ans


def admin_order(stack, auth, oid):
    ans = request(stack, "GET", "/api/admin/orders/%d" % oid, headers=auth)
    assert ans.status == 200, ans
    return ans.json["data"]


def assert_erased(stack, auth, oid):
    o = admin_order(stack, auth, oid)
    assert o["customer_info"] == {"name": "-", "phone": None, "email": None}
    assert o["note"] is None
    assert all(i["note"] is None for i in o["items"])
    assert all(h["reason"] is None for h in o["status_history"]), \
        o["status_history"]
    return o


def assert_kept(stack, auth, oid, name):
    o = admin_order(stack, auth, oid)
    assert o["customer_info"]["name"] == name
    assert o["customer_info"]["phone"] == "0812345678"
    assert o["items"][0]["note"] == "for " + name
    return o


def age(stack, table, days, where):
    stack.mariadb("UPDATE %s SET %s = %s - INTERVAL %d DAY WHERE %s"
                  % (table, "updated_at" if table == "orders" else
                     "created_at", "updated_at" if table == "orders" else
                     "created_at", days, where))


def one(stack, sql):
    rows = stack.mariadb(sql)
    return rows[0][0] if rows else None


def test_the_command_reads_the_directives_of_the_configuration(kept):
    res = kept.maintain("--print-settings")
    assert res.returncode == 0, res.stderr
    got = dict(line.split() for line in res.stdout.splitlines())
    assert got == {"TimingEventRetention": str(30 * 86400),
                   "TimingIdempotencyRetention": "86400",
                   "TimingPersonalDataRetention": str(PDPA_DAYS * 86400)}
    res = kept.maintain("--idempotency-retention", "2h", "--print-settings")
    assert res.returncode == 1 and "at least 24h" in res.stderr


@pytest.mark.parametrize("line, message", [
    ("TimingEventRetention 12h", "at least 1 day"),
    ("TimingIdempotencyRetention 3600s", "at least 24h"),
    ("TimingPersonalDataRetention 2h", "0 (keep) or at least 1 day"),
    ("TimingPersonalDataRetention soon", "0 (keep) or at least 1 day"),
])
def test_bad_retention_fails_the_config_check(kept, line, message):
    res = kept.config_test(line)
    assert res.returncode != 0
    assert message in res.stderr, res.stderr


def test_pruning_and_anonymising(kept):
    auth = login(kept)
    # Old: done and cancelled orders whose events are past retention.
    done = place(kept, "Somchai")
    move(kept, auth, done, "preparing", "ready", "completed")
    gone = place(kept, "Malee")
    move(kept, auth, gone, "cancelled")
    recent_done = place(kept, "Niran")
    move(kept, auth, recent_done, "completed")
    # Left open and untouched for longer than the retention: erased too.
    waiting = place(kept, "Old Pending")
    # Young: must all stay.
    fresh = place(kept, "Fresh")
    move(kept, auth, fresh, "preparing")
    old_key, new_key = "retention-old-key", "retention-new-key"
    place(kept, "Keyed Old", key=old_key)
    keyed = place(kept, "Keyed New", key=new_key)

    old_orders = "order_id IN (%d, %d, %d, %d)" % (done, gone, recent_done,
                                                   waiting)
    last_old = int(one(kept, "SELECT MAX(id) FROM events WHERE "
                       + old_orders))
    young_events = int(one(kept, "SELECT COUNT(*) FROM events WHERE id > %d"
                           % last_old))
    age(kept, "events", 40, old_orders)
    age(kept, "orders", PDPA_DAYS + 10, "id IN (%d, %d, %d)"
        % (done, gone, waiting))
    age(kept, "orders", PDPA_DAYS - 10, "id = %d" % recent_done)
    age(kept, "idempotency_keys", 2, "idem_key = '%s'" % old_key)

    # A dry run counts and changes nothing.
    res = kept.maintain("--dry-run")
    assert res.returncode == 0, res.stderr
    assert "dry run" in res.stdout and "3 order(s) anonymised" in res.stdout
    assert one(kept, "SELECT events_pruned_through FROM timing_epoch") == "0"

    res = kept.maintain()
    assert res.returncode == 0, res.stderr
    assert "through id %d" % last_old in res.stdout, res.stdout
    assert "3 order(s) anonymised" in res.stdout
    # Nothing personal in what it prints.
    for word in ("Somchai", "Malee", "0812345678", "@example.com"):
        assert word not in res.stdout + res.stderr

    assert one(kept, "SELECT COUNT(*) FROM events WHERE id <= %d"
               % last_old) == "0"
    assert one(kept, "SELECT COUNT(*) FROM events WHERE id > %d"
               % last_old) == str(young_events)
    assert one(kept, "SELECT events_pruned_through FROM timing_epoch") == \
        str(last_old)
    assert one(kept, "SELECT COUNT(*) FROM idempotency_keys WHERE idem_key"
               " = '%s'" % old_key) == "0"
    assert one(kept, "SELECT COUNT(*) FROM idempotency_keys WHERE idem_key"
               " = '%s'" % new_key) == "1"

    # The orders last changed before the PDPA retention lost name, phone,
    # e-mail and notes, whatever their status; the rest kept them.
    for oid, status in ((done, "completed"), (gone, "cancelled"),
                        (waiting, "pending")):
        assert assert_erased(kept, auth, oid)["status"] == status
    for oid, name in ((recent_done, "Niran"), (fresh, "Fresh")):
        assert_kept(kept, auth, oid, name)

    # The same key within its retention still answers the first order.
    ans = post_order(kept, **order_of("Keyed New"),
                     headers={"Idempotency-Key": new_key})
    assert ans.status == 201 and ans.json["data"]["id"] == keyed, ans
    # A second run finds nothing more.
    res = kept.maintain()
    assert res.returncode == 0, res.stderr
    assert " 0 event(s) pruned" in res.stdout
    assert "0 order(s) anonymised" in res.stdout


def test_the_event_log_refuses_a_point_before_what_was_pruned(kept):
    auth = login(kept)
    through = int(one(kept, "SELECT events_pruned_through FROM timing_epoch"))
    assert through > 0, "runs after test_pruning_and_anonymising"
    for after in (0, 1, through - 1):
        ans = request(kept, "GET", "/api/admin/events?after=%d" % after,
                      headers=auth)
        assert ans.status == 410, ans
        err = ans.json["error"]
        assert err["code"] == "events_pruned"
        assert str(through) in err["details"][0]["message"]
    ans = request(kept, "GET", "/api/admin/events?after=%d&limit=1000"
                  % through, headers=auth)
    assert ans.status == 200, ans
    ids = [e["event_id"] for e in ans.json["data"]]
    assert ids and ids[0] > through
    assert ids == sorted(ids)


def test_personal_data_kept_when_retention_is_0(kept):
    auth = login(kept)
    oid = place(kept, "Keeper")
    move(kept, auth, oid, "completed")
    age(kept, "orders", 400, "id = %d" % oid)
    res = kept.maintain("--personal-data-retention", "0")
    assert res.returncode == 0, res.stderr
    assert "personal data kept" in res.stdout
    o = request(kept, "GET", "/api/admin/orders/%d" % oid,
                headers=auth).json["data"]
    assert o["customer_info"]["name"] == "Keeper"


def test_the_sdk_reloads_instead_of_catching_up_across_pruned_events(kept):
    from node_bridge import run_node
    through = one(kept, "SELECT events_pruned_through FROM timing_epoch")
    assert int(through) > 1, "runs after test_pruning_and_anonymising"
    # A restarted daemon has nothing to replay: the client catches up over
    # REST, from a point the log no longer holds.
    kept.stop_eventd()
    kept.start_eventd()
    rc, output = run_node(kept, "sdk/pruned.mjs", env={
        "TIMING_EPOCH": one(kept, "SELECT epoch FROM timing_epoch"),
        "TIMING_PRUNED_THROUGH": through}, timeout=120)
    assert rc == 0, output


def test_status_change_reasons_are_erased_with_the_order(kept):
    """Staff type free text into a status change's reason (a name, a
    phone number): it goes with the order's other personal data."""
    auth = login(kept)
    old = place(kept, "Reason Old")
    move(kept, auth, old, "preparing",
         reason="Khun Reason Old called from 0899999999")
    move(kept, auth, old, "cancelled", reason="Reason Old never came")
    young = place(kept, "Reason Young")
    move(kept, auth, young, "cancelled", reason="Reason Young left")
    age(kept, "orders", PDPA_DAYS + 1, "id = %d" % old)
    assert one(kept, "SELECT COUNT(*) FROM order_status_history WHERE"
               " order_id = %d AND reason IS NOT NULL" % old) == "2"

    res = kept.maintain()
    assert res.returncode == 0, res.stderr
    assert "Reason" not in res.stdout + res.stderr
    history = assert_erased(kept, auth, old)["status_history"]
    assert [(h["from"], h["to"]) for h in history] == [
        (None, "pending"), ("pending", "preparing"),
        ("preparing", "cancelled")]
    assert one(kept, "SELECT COUNT(*) FROM order_status_history WHERE"
               " order_id = %d AND reason IS NOT NULL" % old) == "0"
    history = admin_order(kept, auth, young)["status_history"]
    assert history[-1]["reason"] == "Reason Young left"


def test_orders_left_open_are_erased_once_untouched_for_the_retention(kept):
    """An order abandoned in pending, preparing or ready keeps personal
    data as long as a finished one would: it is erased once its last
    change (updated_at) is older than the retention.  Its status stays
    (nothing is announced); an old order that staff still change is
    kept."""
    auth = login(kept)
    left = {}
    for status, steps in (("pending", ()), ("preparing", ("preparing",)),
                          ("ready", ("preparing", "ready"))):
        oid = place(kept, "Left " + status.title())
        move(kept, auth, oid, *steps)
        left[oid] = status
    touched = place(kept, "Still Touched")
    age(kept, "orders", PDPA_DAYS + 1, "id IN (%s)"
        % ", ".join(str(i) for i in left))
    # Placed long ago, changed yesterday.
    kept.mariadb("UPDATE orders SET created_at = created_at - INTERVAL %d"
                 " DAY, updated_at = updated_at - INTERVAL 1 DAY"
                 " WHERE id = %d" % (PDPA_DAYS + 30, touched))
    versions = {oid: admin_order(kept, auth, oid)["version"] for oid in left}

    res = kept.maintain()
    assert res.returncode == 0, res.stderr
    assert "3 order(s) anonymised" in res.stdout, res.stdout
    for oid, status in left.items():
        o = assert_erased(kept, auth, oid)
        assert o["status"] == status
        assert o["version"] == versions[oid]
    assert_kept(kept, auth, touched, "Still Touched")


def test_idempotency_answers_never_outlive_personal_data(kept):
    """A stored Idempotency-Key answer is the whole order with the
    customer's details: however long TimingIdempotencyRetention keeps
    keys, none stays past TimingPersonalDataRetention."""
    keys = {"idem-pdpa-old": PDPA_DAYS + 1, "idem-pdpa-young": PDPA_DAYS - 1,
            "idem-pdpa-kept": PDPA_DAYS + 1}
    for key, days in keys.items():
        place(kept, "Keyed " + key, key=key)
        age(kept, "idempotency_keys", days, "idem_key = '%s'" % key)
    stored = one(kept, "SELECT response FROM idempotency_keys WHERE idem_key"
                 " = 'idem-pdpa-old'")
    assert "Keyed idem-pdpa-old" in stored and "0812345678" in stored

    def present(key):
        return one(kept, "SELECT COUNT(*) FROM idempotency_keys WHERE"
                   " idem_key = '%s'" % key) == "1"

    # Personal data kept (0): the idempotency retention alone decides.
    res = kept.maintain("--idempotency-retention", "365d",
                        "--personal-data-retention", "0")
    assert res.returncode == 0, res.stderr
    assert all(present(key) for key in keys)

    res = kept.maintain("--idempotency-retention", "365d")
    assert res.returncode == 0, res.stderr
    assert not present("idem-pdpa-old")
    assert not present("idem-pdpa-kept")
    assert present("idem-pdpa-young")
