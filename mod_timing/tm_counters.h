/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tm_counters.h -- Timing's counters, in one shared memory segment so
 * every Apache process and thread adds to the same numbers: a few module
 * counters, and per route the requests by status and a latency histogram.
 * Anything may count; these call nothing else of the module's.  The page
 * that shows them is tm_metrics.c's.
 */
#ifndef TM_COUNTERS_H
#define TM_COUNTERS_H

#include "httpd.h"

typedef enum {
    TM_C_ORDERS_CREATED = 0,
    TM_C_DB_ERRORS,
    TM_C_EVENTS_SENT,           /* datagrams timing-eventd accepted */
    TM_C_EVENT_SEND_FAILURES,   /* events it did not get */
    TM_C_COUNT
} tm_counter;

/* The statuses counted one by one (the API answers with these); the last
 * slot counts any other. */
#define TM_N_STATUS     26
extern const int tm_counted_status[TM_N_STATUS - 1];

/* Latency bucket bounds, in microseconds and as Prometheus prints them;
 * one more bucket counts what took longer than the last. */
#define TM_N_BUCKETS    10
typedef struct {
    apr_uint64_t usec;
    const char *le;
} tm_bucket;
extern const tm_bucket tm_buckets[TM_N_BUCKETS];

/* One route's figures as read at one moment. */
typedef struct {
    apr_uint64_t by_status[TM_N_STATUS];
    apr_uint64_t buckets[TM_N_BUCKETS + 1];
    apr_uint64_t sum_usec;
} tm_route_counts;

/* From post_config: the segment, made once in the parent and kept across
 * graceful restarts (children inherit it), with a slot per route and one
 * for requests that matched none.  Returns APR_SUCCESS or why not (the
 * caller logs it; nothing is counted then). */
apr_status_t tm_counters_init(server_rec *s, size_t nroutes);

void tm_counters_inc(tm_counter c);

/* The router says which route a request took (index in the table). */
void tm_counters_note_route(request_rec *r, size_t index);

/* The log_transaction hook: counts an /api/ request and its latency. */
int tm_counters_log(request_rec *r);

/* Reading, for the page: 0 when there is no segment. */
int tm_counters_kept(void);
apr_uint64_t tm_counters_get(tm_counter c);
/* route: an index in the table, or the table's size for "unmatched". */
void tm_counters_route(size_t route, tm_route_counts *out);

#endif /* TM_COUNTERS_H */
