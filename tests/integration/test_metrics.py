"""Prometheus metrics: GET /api/admin/metrics for a staff token, and the
timing-metrics handler that Apache's access rules guard (/metrics in the
development configuration).  Counters live in shared memory, so every
Apache process -- and the next generation after a graceful restart --
adds to the same numbers; the daemon's figures come from its stats
answer, and stay present (0, with timing_eventd_up 0) when it is down."""

import os
import re
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from client import admin_login as login, make_jwt, request
from conftest import running_stack

CONTENT_TYPE = "text/plain; version=0.0.4"
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? '
                    r'(-?[0-9.eE+-]+|\+Inf|NaN)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')


@pytest.fixture(scope="module")
def ops(tmp_root):
    with running_stack(tmp_root, "metrics",
                       defines={"TIMING_ORDER_RATE_LIMIT": "0"}) as s:
        yield s


def parse(text):
    """Samples {(name, frozenset(labels)): value} and types {family: type};
    fails on any line the text format does not allow."""
    samples, types = {}, {}
    for line in text.splitlines():
        if not line:
            continue
        if line.startswith("# HELP "):
            continue
        if line.startswith("# TYPE "):
            _, _, family, kind = line.split(" ", 3)
            assert kind in ("counter", "gauge", "histogram"), line
            assert family not in types, "TYPE twice: " + line
            types[family] = kind
            continue
        m = SAMPLE.match(line)
        assert m, "not a sample line: %r" % line
        labels = {}
        if m.group(3):
            rest = m.group(3)
            for lm in LABEL.finditer(rest):
                labels[lm.group(1)] = lm.group(2)
            assert ",".join('%s="%s"' % kv for kv in labels.items()) == rest
        key = (m.group(1), frozenset(labels.items()))
        assert key not in samples, "sample twice: " + line
        samples[key] = float(m.group(4))
    return samples, types


def scrape(stack, token):
    ans = request(stack, "GET", "/api/admin/metrics",
                  headers={"Authorization": "Bearer " + token})
    assert ans.status == 200, ans
    assert ans.header("content-type").startswith(CONTENT_TYPE)
    return parse(ans.body.decode())


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0.0)


def health_count(samples):
    return value(samples, "timing_http_requests_total", method="GET",
                 route="/api/health", code="200")


def place_order(stack, phone="0812345678"):
    ans = request(stack, "POST", "/api/orders", body={
        "customer_info": {"name": "สมชาย", "phone": phone},
        "items": [{"menu_id": 1, "quantity": 1}]})
    assert ans.status == 201, ans
    return ans.json["data"]


def test_metrics_need_a_staff_token(ops):
    ans = request(ops, "GET", "/api/admin/metrics")
    assert ans.status == 401
    assert ans.json["error"]["code"] == "unauthorized"
    ans = request(ops, "POST", "/api/auth/register", body={
        "name": "Customer", "email": "metrics-customer@example.com",
        "password": "customer-password"})
    assert ans.status == 201, ans
    customer = ans.json["data"]["token"]
    ans = request(ops, "GET", "/api/admin/metrics",
                  headers={"Authorization": "Bearer " + customer})
    assert ans.status == 403
    bad = make_jwt("x" * 64)
    ans = request(ops, "GET", "/api/admin/metrics",
                  headers={"Authorization": "Bearer " + bad})
    assert ans.status == 401


def test_the_text_format_parses_and_names_every_family(ops):
    token = login(ops)
    place_order(ops)
    request(ops, "GET", "/api/nothing-here")
    samples, types = scrape(ops, token)
    for (name, labels) in samples:
        family = re.sub(r"_(bucket|sum|count)$", "", name) \
            if name not in types else name
        assert family in types, "no TYPE for " + name
    for family in ("timing_http_requests_total",
                   "timing_http_request_duration_seconds",
                   "timing_orders_created_total", "timing_db_errors_total",
                   "timing_events_sent_total",
                   "timing_event_send_failures_total", "timing_eventd_up",
                   "timing_eventd_connections",
                   "timing_eventd_messages_sent_total",
                   "timing_eventd_replays_total",
                   "timing_eventd_resyncs_total",
                   "timing_eventd_slow_clients_dropped_total",
                   "timing_eventd_recycled_total", "timing_eventd_aged_total",
                   "timing_eventd_revoked_total",
                   "timing_eventd_events_received_total",
                   "timing_eventd_uptime_seconds"):
        assert family in types, family
    assert types["timing_http_request_duration_seconds"] == "histogram"
    # Routes are patterns, never raw paths with ids.
    routes = {dict(l).get("route") for (n, l) in samples
              if n == "timing_http_requests_total"}
    assert "/api/orders" in routes and "unmatched" in routes
    assert not any(r and re.search(r"/\d", r) for r in routes), routes
    # Histograms: cumulative buckets ending in +Inf == count.
    hist = "timing_http_request_duration_seconds"
    for (name, labels) in list(samples):
        if name != hist + "_count":
            continue
        base = dict(labels)
        buckets = sorted(
            ((float(dict(l)["le"]), v) for (n, l), v in samples.items()
             if n == hist + "_bucket"
             and {k: x for k, x in dict(l).items() if k != "le"} == base),
            key=lambda b: b[0])
        assert len(buckets) >= 5
        counts = [v for _, v in buckets]
        assert counts == sorted(counts)
        assert buckets[-1][0] == float("inf")
        assert counts[-1] == samples[(name, labels)]
        assert value(samples, hist + "_sum", **base) >= 0
    assert value(samples, "timing_eventd_up") == 1
    assert value(samples, "timing_orders_created_total") >= 1


def wait_serving(stack):
    deadline = time.monotonic() + 30
    while True:
        try:
            if request(stack, "GET", "/api/shop").status == 200:
                return
        except OSError:
            pass
        assert time.monotonic() < deadline, "Apache did not come back"
        time.sleep(0.2)


def settled_health_count(stack, token, expected):
    """The count once it reaches expected (5 s at most): a request is
    counted in its log_transaction hook, which runs after its answer has
    gone, so a scrape right after the last answer may come first."""
    deadline = time.monotonic() + 5
    while True:
        n = health_count(scrape(stack, token)[0])
        if n >= expected or time.monotonic() > deadline:
            return n
        time.sleep(0.05)


def test_counters_are_shared_by_every_process_and_survive_a_reload(ops):
    token = login(ops)
    assert len(ops.apache_children()) >= 2, "the stack runs 2+ children"
    before = health_count(scrape(ops, token)[0])

    def hit(_):
        return request(ops, "GET", "/api/health").status

    with ThreadPoolExecutor(24) as pool:
        statuses = list(pool.map(hit, range(300)))
    assert statuses.count(200) == 300
    assert settled_health_count(ops, token, before + 300) == before + 300
    # Each scrape is answered by whichever process takes it, and each
    # must see all 300: per-process counters would show a share.
    for _ in range(6):
        assert health_count(scrape(ops, token)[0]) == before + 300

    # A graceful restart reloads the module and starts new children: the
    # figures carry on from where the old generation left them.
    old = ops.apache_children()
    ops.apache_graceful()
    deadline = time.monotonic() + 30
    while not ops.apache_children() - old:
        assert time.monotonic() < deadline, "no new generation"
        time.sleep(0.2)
    wait_serving(ops)
    after_reload = health_count(scrape(ops, token)[0])
    assert after_reload >= before + 300
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(hit, range(40)))
    assert settled_health_count(ops, token, after_reload + 40) == \
        after_reload + 40


def test_orders_and_events_are_counted(ops):
    token = login(ops)
    s0, _ = scrape(ops, token)
    place_order(ops)
    place_order(ops)
    # The daemon counts a datagram once it has read it.
    deadline = time.monotonic() + 10
    while True:
        s1, _ = scrape(ops, token)
        if value(s1, "timing_eventd_events_received_total") >= \
                value(s0, "timing_eventd_events_received_total") + 2:
            break
        assert time.monotonic() < deadline, "daemon did not count events"
        time.sleep(0.1)
    assert value(s1, "timing_orders_created_total") == \
        value(s0, "timing_orders_created_total") + 2
    assert value(s1, "timing_events_sent_total") == \
        value(s0, "timing_events_sent_total") + 2
    created = value(s1, "timing_http_requests_total", method="POST",
                    route="/api/orders", code="201")
    assert created >= 2
    assert value(s1, "timing_eventd_uptime_seconds") >= 0


def test_daemon_down_gives_up_0_and_counts_failed_sends(ops):
    token = login(ops)
    s0, _ = scrape(ops, token)
    ops.stop_eventd()
    try:
        place_order(ops)
        samples, types = scrape(ops, token)
        assert value(samples, "timing_eventd_up") == 0
        for family in ("timing_eventd_messages_sent_total",
                       "timing_eventd_replays_total",
                       "timing_eventd_resyncs_total",
                       "timing_eventd_slow_clients_dropped_total",
                       "timing_eventd_recycled_total",
                       "timing_eventd_aged_total",
                       "timing_eventd_revoked_total",
                       "timing_eventd_events_received_total",
                       "timing_eventd_uptime_seconds"):
            assert (family, frozenset()) in samples, family
            assert samples[(family, frozenset())] >= 0
        assert value(samples, "timing_eventd_connections",
                     channel="admin") == 0
        assert value(samples, "timing_event_send_failures_total") == \
            value(s0, "timing_event_send_failures_total") + 1
    finally:
        ops.start_eventd()
    assert value(scrape(ops, token)[0], "timing_eventd_up") == 1


def test_the_handler_serves_without_a_token_where_apache_allows(ops):
    ans = request(ops, "GET", "/metrics", source="127.0.0.1")
    assert ans.status == 200, ans
    assert ans.header("content-type").startswith(CONTENT_TYPE)
    samples, types = parse(ans.body.decode())
    assert "timing_http_requests_total" in types
    # The development configuration lets this machine's 127.0.0.1 only.
    assert request(ops, "GET", "/metrics", source="127.9.9.9").status == 403
    assert request(ops, "POST", "/metrics", source="127.0.0.1").status == 405


def test_database_errors_are_counted_while_the_database_is_down(ops):
    def db_errors():
        ans = request(ops, "GET", "/metrics", source="127.0.0.1")
        return value(parse(ans.body.decode())[0], "timing_db_errors_total")

    before = db_errors()
    ops.stop_db()
    try:
        assert request(ops, "GET", "/api/menu").status == 503
        # The handler needs no database, so the figures stay readable.
        assert db_errors() >= before + 1
    finally:
        ops.start_db()
    deadline = time.monotonic() + 30
    while request(ops, "GET", "/api/menu").status != 200:
        assert time.monotonic() < deadline, "did not recover"
        time.sleep(0.2)


def test_the_grafana_dashboard_uses_only_names_the_module_serves(ops):
    import json
    path = os.path.join(os.path.dirname(__file__), "..", "..", "conf",
                        "grafana-timing.json")
    with open(path) as f:
        dash = json.load(f)
    exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
    names = {re.sub(r"_bucket$", "", n)
             for e in exprs for n in re.findall(r"timing_[a-z_]+", e)}
    _, types = scrape(ops, login(ops))
    assert names and names <= set(types), names - set(types)
