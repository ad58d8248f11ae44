/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tm_metrics.c -- the metrics page: Prometheus text exposition (version
 * 0.0.4) of the counters (tm_counters.c) and of the figures timing-eventd
 * gives when asked (tm_notify_stats), at GET /api/admin/metrics and under
 * SetHandler timing-metrics.
 */
#include "mod_timing.h"
#include "tm_counters.h"
#include "tm_metrics.h"
#include "tm_notify.h"

#include "apr_strings.h"
#include "http_protocol.h"

#include <json.h>

#define STATS_TIMEOUT   apr_time_from_msec(500)
#define CONTENT_TYPE    "text/plain; version=0.0.4; charset=utf-8"

static const tm_route *route_table;
static size_t route_count;

void tm_metrics_label_routes(const tm_route *routes, size_t nroutes)
{
    route_table = routes;
    route_count = nroutes;
}

static void help(request_rec *r, const char *name, const char *type,
                 const char *text)
{
    ap_rprintf(r, "# HELP %s %s\n# TYPE %s %s\n", name, text, name, type);
}

/* ap_method_name_of() may name M_GET "HEAD": the registry maps both. */
static const char *method_name(int m)
{
    switch (m) {
    case M_GET:     return "GET";
    case M_POST:    return "POST";
    case M_PUT:     return "PUT";
    case M_PATCH:   return "PATCH";
    case M_DELETE:  return "DELETE";
    default:        return "OTHER";
    }
}

static void route_labels(request_rec *r, size_t i, const char **method,
                         const char **path)
{
    if (i < route_count) {
        *method = method_name(route_table[i].method);
        *path = apr_pstrcat(r->pool, TM_API_PREFIX, route_table[i].path,
                            NULL);
    }
    else {
        *method = "-";
        *path = "unmatched";
    }
}

static void render_requests(request_rec *r)
{
    size_t i, k;

    help(r, "timing_http_requests_total", "counter",
         "API requests by route pattern and status code.");
    for (i = 0; i <= route_count; i++) {
        const char *method, *path;
        tm_route_counts rc;

        route_labels(r, i, &method, &path);
        tm_counters_route(i, &rc);
        for (k = 0; k < TM_N_STATUS; k++) {
            char code[8];

            if (!rc.by_status[k]) {
                continue;
            }
            if (k < TM_N_STATUS - 1) {
                apr_snprintf(code, sizeof code, "%d", tm_counted_status[k]);
            }
            else {
                apr_cpystrn(code, "other", sizeof code);
            }
            ap_rprintf(r, "timing_http_requests_total{method=\"%s\","
                       "route=\"%s\",code=\"%s\"} %" APR_UINT64_T_FMT "\n",
                       method, path, code, rc.by_status[k]);
        }
    }
}

static void render_latency(request_rec *r)
{
    const char *name = "timing_http_request_duration_seconds";
    size_t i, k;

    help(r, name, "histogram", "API request latency by route pattern, "
         "from the request line to the end of logging.");
    for (i = 0; i <= route_count; i++) {
        apr_uint64_t cum = 0;
        const char *method, *path, *labels;
        tm_route_counts rc;

        tm_counters_route(i, &rc);
        for (k = 0; k <= TM_N_BUCKETS; k++) {
            cum += rc.buckets[k];
        }
        if (!cum) {
            continue;       /* a route never called adds nothing */
        }
        route_labels(r, i, &method, &path);
        labels = apr_psprintf(r->pool, "method=\"%s\",route=\"%s\"",
                              method, path);
        cum = 0;
        for (k = 0; k <= TM_N_BUCKETS; k++) {
            cum += rc.buckets[k];
            ap_rprintf(r, "%s_bucket{%s,le=\"%s\"} %" APR_UINT64_T_FMT "\n",
                       name, labels,
                       k < TM_N_BUCKETS ? tm_buckets[k].le : "+Inf", cum);
        }
        ap_rprintf(r, "%s_sum{%s} %" APR_UINT64_T_FMT ".%06" APR_UINT64_T_FMT
                   "\n", name, labels, rc.sum_usec / 1000000,
                   rc.sum_usec % 1000000);
        ap_rprintf(r, "%s_count{%s} %" APR_UINT64_T_FMT "\n", name, labels,
                   cum);
    }
}

static void render_counter(request_rec *r, const char *name,
                           const char *text, apr_uint64_t n)
{
    help(r, name, "counter", text);
    ap_rprintf(r, "%s %" APR_UINT64_T_FMT "\n", name, n);
}

static apr_uint64_t stat_int(json_object *o, const char *key)
{
    json_object *v;
    apr_int64_t n;

    if (!o || !json_object_object_get_ex(o, key, &v)) {
        return 0;
    }
    n = json_object_get_int64(v);
    return n > 0 ? (apr_uint64_t)n : 0;
}

/* The daemon's figures; all 0 and timing_eventd_up 0 when it does not
 * answer, so dashboards and alerts always find the series. */
static void render_daemon(request_rec *r, const tm_srv_conf *conf)
{
    static const struct { const char *key, *name, *text; } counters[] = {
        { "events_received", "timing_eventd_events_received_total",
          "Events timing-eventd accepted from mod_timing." },
        { "messages_sent", "timing_eventd_messages_sent_total",
          "WebSocket messages queued to clients." },
        { "replays", "timing_eventd_replays_total",
          "Events replayed to resuming clients." },
        { "resyncs", "timing_eventd_resyncs_total",
          "resync messages sent." },
        { "slow_clients_dropped", "timing_eventd_slow_clients_dropped_total",
          "Sockets closed because their queued output grew too large." },
        { "recycled", "timing_eventd_recycled_total",
          "Sockets asked to reconnect after a graceful restart." },
        { "aged", "timing_eventd_aged_total",
          "Sockets asked to reconnect at the end of their lifetime." },
        { "revoked", "timing_eventd_revoked_total",
          "Sockets closed because their user was disabled." },
        { "unverified", "timing_eventd_unverified_total",
          "Datagrams and upgrades dropped: their seal did not verify." },
        { "refused_full", "timing_eventd_refused_full_total",
          "Upgrades refused with 503: every place, or every customers' "
          "place, taken." },
        { "refused_share", "timing_eventd_refused_share_total",
          "Upgrades refused with 429: an order's or an address's share "
          "taken." },
        { "handoffs", "timing_eventd_handoffs_total",
          "Client sockets Apache handed to timing-eventd, answered." },
        { "late_handoffs", "timing_eventd_late_handoffs_total",
          "Hand-offs timing-eventd read after Apache had stopped waiting "
          "(Apache answered 503)." },
    };
    json_object *stats = NULL, *conn = NULL, *paths = NULL;
    int up;
    size_t i;

    up = tm_notify_stats(r, conf, STATS_TIMEOUT, &stats)
         == APR_SUCCESS;
    if (up) {
        json_object_object_get_ex(stats, "connections", &conn);
        json_object_object_get_ex(stats, "sockets", &paths);
    }
    help(r, "timing_eventd_up", "gauge",
         "1 when timing-eventd answered this scrape's stats request.");
    ap_rprintf(r, "timing_eventd_up %d\n", up);
    help(r, "timing_eventd_connections", "gauge",
         "Open WebSockets by channel.");
    ap_rprintf(r, "timing_eventd_connections{channel=\"admin\"} %"
               APR_UINT64_T_FMT "\n", stat_int(conn, "admin"));
    ap_rprintf(r, "timing_eventd_connections{channel=\"order\"} %"
               APR_UINT64_T_FMT "\n", stat_int(conn, "order"));
    help(r, "timing_eventd_sockets", "gauge",
         "Sockets timing-eventd holds, by how they came: handed off by "
         "Apache (no worker held) or tunnelled through it.");
    ap_rprintf(r, "timing_eventd_sockets{path=\"handoff\"} %"
               APR_UINT64_T_FMT "\n", stat_int(paths, "handoff"));
    ap_rprintf(r, "timing_eventd_sockets{path=\"tunnel\"} %"
               APR_UINT64_T_FMT "\n", stat_int(paths, "tunnel"));
    help(r, "timing_eventd_peak_connections", "gauge",
         "Most WebSockets open at once since timing-eventd started.");
    ap_rprintf(r, "timing_eventd_peak_connections %" APR_UINT64_T_FMT "\n",
               stat_int(stats, "peak_connections"));
    for (i = 0; i < sizeof counters / sizeof *counters; i++) {
        render_counter(r, counters[i].name, counters[i].text,
                       stat_int(stats, counters[i].key));
    }
    help(r, "timing_eventd_uptime_seconds", "gauge",
         "Seconds since timing-eventd started.");
    ap_rprintf(r, "timing_eventd_uptime_seconds %" APR_UINT64_T_FMT "\n",
               stat_int(stats, "uptime_seconds"));
}

static int render(request_rec *r, const tm_srv_conf *conf)
{
    r->status = HTTP_OK;
    ap_set_content_type(r, CONTENT_TYPE);
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    apr_table_setn(r->headers_out, "X-Content-Type-Options", "nosniff");
    if (r->header_only) {
        return OK;
    }
    if (tm_counters_kept()) {
        render_requests(r);
        render_latency(r);
        render_counter(r, "timing_orders_created_total",
                       "Orders committed (idempotent replays not counted).",
                       tm_counters_get(TM_C_ORDERS_CREATED));
        render_counter(r, "timing_db_errors_total",
                       "Database calls that failed (no connection, a "
                       "statement or a COMMIT).",
                       tm_counters_get(TM_C_DB_ERRORS));
        render_counter(r, "timing_events_sent_total",
                       "Events handed to timing-eventd after COMMIT.",
                       tm_counters_get(TM_C_EVENTS_SENT));
        render_counter(r, "timing_event_send_failures_total",
                       "Events timing-eventd did not get (down or full); "
                       "clients catch up from the event log.",
                       tm_counters_get(TM_C_EVENT_SEND_FAILURES));
    }
    render_daemon(r, conf);
    return OK;
}

int tm_metrics_get(tm_ctx *c)
{
    return render(c->r, c->conf);
}

int tm_metrics_handler(request_rec *r)
{
    if (!r->handler || strcmp(r->handler, TM_METRICS_HANDLER)) {
        return DECLINED;
    }
    if (r->method_number != M_GET) {
        apr_table_setn(r->headers_out, "Allow", "GET, HEAD");
        return HTTP_METHOD_NOT_ALLOWED;
    }
    return render(r, ap_get_module_config(r->server->module_config,
                                          &timing_module));
}
