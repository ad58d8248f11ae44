/*
 * tm_metrics.c -- Prometheus text exposition (version 0.0.4) of Timing's
 * figures.
 *
 * Apache serves a request from any of its processes, so counters kept in
 * a process would show a scrape that process's share only.  They live in
 * one anonymous shared memory segment instead, made by the parent in
 * post_config and inherited by every child; threads add with atomics.  The
 * segment hangs off the process pool, so a graceful restart (which reloads
 * this module) keeps the numbers, and old and new generations count
 * together.  Its layout is fixed by the route table: one slot per route,
 * one for requests that matched none.
 */
#include "mod_timing.h"
#include "tm_metrics.h"
#include "tm_json.h"
#include "tm_notify.h"

#include "apr_atomic.h"
#include "apr_shm.h"
#include "apr_strings.h"
#include "http_protocol.h"

APLOG_USE_MODULE(timing);

#define METRICS_KEY     "timing-metrics-shm"
#define METRICS_MAGIC   0x544d4d31u         /* "TMM1" */
#define STATS_TIMEOUT   apr_time_from_msec(500)
#define CONTENT_TYPE    "text/plain; version=0.0.4; charset=utf-8"

/* The statuses the API answers with; anything else counts as "other". */
static const int status_codes[] = {
    200, 201, 204, 304, 400, 401, 403, 404, 405, 406, 408, 409, 410, 411,
    412, 413, 414, 415, 422, 429, 500, 501, 502, 503, 504
};
#define N_STATUS (sizeof status_codes / sizeof *status_codes + 1)

/* Latency bucket bounds, in microseconds and as Prometheus prints them. */
static const apr_uint64_t bucket_usec[] = {
    5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000,
    5000000
};
static const char *const bucket_le[] = {
    "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5"
};
#define N_BUCKETS (sizeof bucket_usec / sizeof *bucket_usec)

typedef struct {
    volatile apr_uint64_t by_status[N_STATUS];
    volatile apr_uint64_t buckets[N_BUCKETS + 1];   /* last: over 5 s */
    volatile apr_uint64_t sum_usec;
} route_slot;

typedef struct {
    apr_uint32_t magic;
    apr_uint32_t nroutes;
    volatile apr_uint64_t counters[TM_M_COUNT];
    route_slot routes[];                            /* nroutes + 1 */
} metrics_shm;

static metrics_shm *shm;
static const tm_route *route_table;
static size_t route_count;

apr_status_t tm_metrics_init(server_rec *s, const tm_route *routes,
                             size_t nroutes)
{
    apr_pool_t *pp = s->process->pool;
    apr_size_t size = sizeof(metrics_shm)
                      + (nroutes + 1) * sizeof(route_slot);
    apr_shm_t *seg = NULL;
    void *data = NULL;
    apr_status_t rv;

    route_table = routes;
    route_count = nroutes;
    apr_pool_userdata_get(&data, METRICS_KEY, pp);
    if (data) {
        shm = apr_shm_baseaddr_get(data);
        /* A new build with another route table: start a new segment. */
        if (shm->magic == METRICS_MAGIC && shm->nroutes == nroutes) {
            return APR_SUCCESS;
        }
    }
    rv = apr_shm_create(&seg, size, NULL, pp);
    if (rv != APR_SUCCESS) {
        shm = NULL;
        return rv;
    }
    shm = apr_shm_baseaddr_get(seg);
    memset(shm, 0, size);
    shm->magic = METRICS_MAGIC;
    shm->nroutes = (apr_uint32_t)nroutes;
    apr_pool_userdata_set(seg, METRICS_KEY, apr_pool_cleanup_null, pp);
    return APR_SUCCESS;
}

void tm_metrics_inc(tm_metric m)
{
    if (shm && m < TM_M_COUNT) {
        apr_atomic_inc64(&shm->counters[m]);
    }
}

void tm_metrics_note_route(request_rec *r, size_t index)
{
    apr_table_setn(r->notes, "timing-route",
                   apr_psprintf(r->pool, "%lu", (unsigned long)index));
}

static size_t status_slot(int status)
{
    size_t i;

    for (i = 0; i < N_STATUS - 1; i++) {
        if (status_codes[i] == status) {
            return i;
        }
    }
    return N_STATUS - 1;
}

int tm_metrics_log(request_rec *r)
{
    request_rec *last = r, *rr;
    size_t route = route_count, i;
    apr_uint64_t usec;
    route_slot *slot;

    if (!shm || !r->uri || strncmp(r->uri, TM_API_PREFIX,
                                   sizeof TM_API_PREFIX - 1)) {
        return DECLINED;
    }
    /* An ErrorDocument runs as an internal redirect: the status sent is
     * the last request's; the route is the one the router noted. */
    for (rr = r; rr; rr = rr->next) {
        const char *note = apr_table_get(rr->notes, "timing-route");

        if (note && route == route_count) {
            route = (size_t)strtoul(note, NULL, 10);
        }
        last = rr;
    }
    if (route > route_count) {
        route = route_count;
    }
    slot = &shm->routes[route];
    usec = (apr_uint64_t)(apr_time_now() - r->request_time);
    apr_atomic_inc64(&slot->by_status[status_slot(last->status)]);
    for (i = 0; i < N_BUCKETS && usec > bucket_usec[i]; i++)
        ;
    apr_atomic_inc64(&slot->buckets[i]);
    apr_atomic_add64(&slot->sum_usec, usec);
    return DECLINED;
}

/* -- rendering ----------------------------------------------------------- */

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

        route_labels(r, i, &method, &path);
        for (k = 0; k < N_STATUS; k++) {
            apr_uint64_t n = apr_atomic_read64(&shm->routes[i].by_status[k]);
            char code[8];

            if (!n) {
                continue;
            }
            if (k < N_STATUS - 1) {
                apr_snprintf(code, sizeof code, "%d", status_codes[k]);
            }
            else {
                apr_cpystrn(code, "other", sizeof code);
            }
            ap_rprintf(r, "timing_http_requests_total{method=\"%s\","
                       "route=\"%s\",code=\"%s\"} %" APR_UINT64_T_FMT "\n",
                       method, path, code, n);
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
        route_slot *slot = &shm->routes[i];
        apr_uint64_t cum = 0, sum = apr_atomic_read64(&slot->sum_usec);
        const char *method, *path, *labels;

        route_labels(r, i, &method, &path);
        labels = apr_psprintf(r->pool, "method=\"%s\",route=\"%s\"",
                              method, path);
        for (k = 0; k <= N_BUCKETS; k++) {
            cum += apr_atomic_read64(&slot->buckets[k]);
        }
        if (!cum) {
            continue;       /* a route never called adds nothing */
        }
        cum = 0;
        for (k = 0; k <= N_BUCKETS; k++) {
            cum += apr_atomic_read64(&slot->buckets[k]);
            ap_rprintf(r, "%s_bucket{%s,le=\"%s\"} %" APR_UINT64_T_FMT "\n",
                       name, labels, k < N_BUCKETS ? bucket_le[k] : "+Inf",
                       cum);
        }
        ap_rprintf(r, "%s_sum{%s} %" APR_UINT64_T_FMT ".%06" APR_UINT64_T_FMT
                   "\n", name, labels, sum / 1000000, sum % 1000000);
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
    };
    json_object *stats = NULL, *conn = NULL;
    int up;
    size_t i;

    up = tm_notify_stats(r, conf, STATS_TIMEOUT, &stats)
         == APR_SUCCESS;
    if (up) {
        json_object_object_get_ex(stats, "connections", &conn);
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
    if (shm) {
        render_requests(r);
        render_latency(r);
        render_counter(r, "timing_orders_created_total",
                       "Orders committed (idempotent replays not counted).",
                       apr_atomic_read64(&shm->counters[TM_M_ORDERS_CREATED]));
        render_counter(r, "timing_db_errors_total",
                       "Database calls that failed (no connection, a "
                       "statement or a COMMIT).",
                       apr_atomic_read64(&shm->counters[TM_M_DB_ERRORS]));
        render_counter(r, "timing_events_sent_total",
                       "Events handed to timing-eventd after COMMIT.",
                       apr_atomic_read64(&shm->counters[TM_M_EVENTS_SENT]));
        render_counter(r, "timing_event_send_failures_total",
                       "Events timing-eventd did not get (down or full); "
                       "clients catch up from the event log.",
                       apr_atomic_read64(
                           &shm->counters[TM_M_EVENT_SEND_FAILURES]));
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
