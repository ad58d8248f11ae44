# SPDX-License-Identifier: Apache-2.0
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

from client import admin_login as login, auth, make_jwt, place_order, request

CONTENT_TYPE = "text/plain; version=0.0.4"
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? '
                    r'(-?[0-9.eE+-]+|\+Inf|NaN)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')


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
                  headers=auth(token))
    assert ans.status == 200, ans
    assert ans.header("content-type").startswith(CONTENT_TYPE)
    return parse(ans.body.decode())


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0.0)


def health_count(samples):
    return value(samples, "timing_http_requests_total", method="GET",
                 route="/api/health", code="200")


def place(stack):
    return place_order(stack, "สมชาย", phone="0812345678")


def test_metrics_need_a_staff_token(own_stack):
    ans = request(own_stack, "GET", "/api/admin/metrics")
    assert ans.status == 401
    assert ans.json["error"]["code"] == "unauthorized"
    ans = request(own_stack, "POST", "/api/auth/register", body={
        "name": "Customer", "email": "metrics-customer@example.com",
        "password": "customer-password"})
    assert ans.status == 201, ans
    customer = ans.json["data"]["token"]
    ans = request(own_stack, "GET", "/api/admin/metrics",
                  headers=auth(customer))
    assert ans.status == 403
    bad = make_jwt("x" * 64)
    ans = request(own_stack, "GET", "/api/admin/metrics",
                  headers=auth(bad))
    assert ans.status == 401


def test_the_text_format_parses_and_names_every_family(own_stack):
    token = login(own_stack)
    place(own_stack)
    request(own_stack, "GET", "/api/nothing-here")
    samples, types = scrape(own_stack, token)
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


def test_counters_are_shared_by_every_process_and_survive_a_reload(own_stack):
    token = login(own_stack)
    assert len(own_stack.apache_children()) >= 2, "the stack runs 2+ children"
    before = health_count(scrape(own_stack, token)[0])

    def hit(_):
        return request(own_stack, "GET", "/api/health").status

    with ThreadPoolExecutor(24) as pool:
        statuses = list(pool.map(hit, range(300)))
    assert statuses.count(200) == 300
    assert settled_health_count(own_stack, token, before + 300) == before + 300
    # Each scrape is answered by whichever process takes it, and each
    # must see all 300: per-process counters would show a share.
    for _ in range(6):
        assert health_count(scrape(own_stack, token)[0]) == before + 300

    # A graceful restart reloads the module and starts new children: the
    # figures carry on from where the old generation left them.
    old = own_stack.apache_children()
    own_stack.apache_graceful()
    deadline = time.monotonic() + 30
    while not own_stack.apache_children() - old:
        assert time.monotonic() < deadline, "no new generation"
        time.sleep(0.2)
    wait_serving(own_stack)
    after_reload = health_count(scrape(own_stack, token)[0])
    assert after_reload >= before + 300
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(hit, range(40)))
    assert settled_health_count(own_stack, token, after_reload + 40) == \
        after_reload + 40


def test_orders_and_events_are_counted(own_stack):
    token = login(own_stack)
    s0, _ = scrape(own_stack, token)
    place(own_stack)
    place(own_stack)
    # The daemon counts a datagram once it has read it.
    deadline = time.monotonic() + 10
    while True:
        s1, _ = scrape(own_stack, token)
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


def test_daemon_down_gives_up_0_and_counts_failed_sends(own_stack):
    token = login(own_stack)
    s0, _ = scrape(own_stack, token)
    own_stack.stop_eventd()
    try:
        place(own_stack)
        samples, types = scrape(own_stack, token)
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
        own_stack.start_eventd()
    assert value(scrape(own_stack, token)[0], "timing_eventd_up") == 1


def test_the_handler_serves_without_a_token_where_apache_allows(own_stack):
    ans = request(own_stack, "GET", "/metrics", source="127.0.0.1")
    assert ans.status == 200, ans
    assert ans.header("content-type").startswith(CONTENT_TYPE)
    samples, types = parse(ans.body.decode())
    assert "timing_http_requests_total" in types
    # The development configuration lets this machine's 127.0.0.1 only.
    assert request(own_stack, "GET", "/metrics",
                   source="127.9.9.9").status == 403
    assert request(own_stack, "POST", "/metrics",
                   source="127.0.0.1").status == 405


def test_database_errors_are_counted_while_the_database_is_down(own_stack):
    def db_errors():
        ans = request(own_stack, "GET", "/metrics", source="127.0.0.1")
        return value(parse(ans.body.decode())[0], "timing_db_errors_total")

    before = db_errors()
    own_stack.stop_db()
    try:
        assert request(own_stack, "GET", "/api/menu").status == 503
        # The handler needs no database, so the figures stay readable.
        assert db_errors() >= before + 1
    finally:
        own_stack.start_db()
    deadline = time.monotonic() + 30
    while request(own_stack, "GET", "/api/menu").status != 200:
        assert time.monotonic() < deadline, "did not recover"
        time.sleep(0.2)


def test_the_grafana_dashboard_uses_only_names_the_module_serves(own_stack):
    import json
    path = os.path.join(os.path.dirname(__file__), "..", "..", "conf",
                        "grafana-timing.json")
    with open(path) as f:
        dash = json.load(f)
    exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
    names = {re.sub(r"_bucket$", "", n)
             for e in exprs for n in re.findall(r"timing_[a-z_]+", e)}
    _, types = scrape(own_stack, login(own_stack))
    assert names and names <= set(types), names - set(types)
