/*
 * tm_metrics.h -- figures for Prometheus: requests by route and status,
 * latency by route, and a few module counters, kept in one shared memory
 * segment so every Apache process and thread adds to the same numbers;
 * the daemon's figures are asked of it at each scrape.
 */
#ifndef TM_METRICS_H
#define TM_METRICS_H

#include "mod_timing.h"
#include "tm_router.h"

#define TM_METRICS_HANDLER "timing-metrics"

/* Counters other files bump. */
typedef enum {
    TM_M_ORDERS_CREATED = 0,
    TM_M_DB_ERRORS,
    TM_M_EVENTS_SENT,           /* datagrams timing-eventd accepted */
    TM_M_EVENT_SEND_FAILURES,   /* events it did not get */
    TM_M_COUNT
} tm_metric;

/* From post_config: the segment, made once in the parent and kept across
 * graceful restarts (children inherit it).  The route table names the
 * routes' labels.  Returns APR_SUCCESS or why not (logged by the caller). */
apr_status_t tm_metrics_init(server_rec *s, const tm_route *routes,
                             size_t nroutes);

/* The router says which route a request took (index in the table). */
void tm_metrics_note_route(request_rec *r, size_t index);

/* The log_transaction hook: counts an /api/ request and its latency. */
int tm_metrics_log(request_rec *r);

void tm_metrics_inc(tm_metric m);

/* GET /api/admin/metrics (staff, admin). */
int tm_metrics_get(tm_ctx *c);

/* SetHandler timing-metrics: the same text, guarded by Apache's own
 * access rules instead of a token. */
int tm_metrics_handler(request_rec *r);

#endif /* TM_METRICS_H */
