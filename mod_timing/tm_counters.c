/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tm_counters.c -- the shared memory counters.
 *
 * Apache serves a request from any of its processes, so counters kept in
 * a process would show a scrape that process's share only.  They live in
 * one anonymous shared memory segment instead, made by the parent in
 * post_config and inherited by every child; threads add with atomics.  The
 * segment hangs off the process pool, so a graceful restart (which reloads
 * this module) keeps the numbers, and old and new generations count
 * together.  Its layout is fixed by the route table's size: one slot per
 * route, one for requests that matched none.
 */
#include "tm_counters.h"
#include "tm_router.h"

#include "apr_atomic.h"
#include "apr_shm.h"
#include "apr_strings.h"

#include <stdlib.h>
#include <string.h>

#define COUNTERS_KEY    "timing-metrics-shm"
#define COUNTERS_MAGIC  0x544d4d31u         /* "TMM1" */

const int tm_counted_status[TM_N_STATUS - 1] = {
    200, 201, 204, 304, 400, 401, 403, 404, 405, 406, 408, 409, 410, 411,
    412, 413, 414, 415, 422, 429, 500, 501, 502, 503, 504
};

const tm_bucket tm_buckets[TM_N_BUCKETS] = {
    { 5000, "0.005" }, { 10000, "0.01" }, { 25000, "0.025" },
    { 50000, "0.05" }, { 100000, "0.1" }, { 250000, "0.25" },
    { 500000, "0.5" }, { 1000000, "1" }, { 2500000, "2.5" },
    { 5000000, "5" }
};

typedef struct {
    volatile apr_uint64_t by_status[TM_N_STATUS];
    volatile apr_uint64_t buckets[TM_N_BUCKETS + 1];
    volatile apr_uint64_t sum_usec;
} route_slot;

typedef struct {
    apr_uint32_t magic;
    apr_uint32_t nroutes;
    volatile apr_uint64_t counters[TM_C_COUNT];
    route_slot routes[];                            /* nroutes + 1 */
} counters_shm;

static counters_shm *shm;
static size_t route_count;

apr_status_t tm_counters_init(server_rec *s, size_t nroutes)
{
    apr_pool_t *pp = s->process->pool;
    apr_size_t size = sizeof(counters_shm)
                      + (nroutes + 1) * sizeof(route_slot);
    apr_shm_t *seg = NULL;
    void *data = NULL;
    apr_status_t rv;

    route_count = nroutes;
    apr_pool_userdata_get(&data, COUNTERS_KEY, pp);
    if (data) {
        shm = apr_shm_baseaddr_get(data);
        /* A new build with another route table: start a new segment. */
        if (shm->magic == COUNTERS_MAGIC && shm->nroutes == nroutes) {
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
    shm->magic = COUNTERS_MAGIC;
    shm->nroutes = (apr_uint32_t)nroutes;
    apr_pool_userdata_set(seg, COUNTERS_KEY, apr_pool_cleanup_null, pp);
    return APR_SUCCESS;
}

void tm_counters_inc(tm_counter c)
{
    if (shm && c < TM_C_COUNT) {
        apr_atomic_inc64(&shm->counters[c]);
    }
}

void tm_counters_note_route(request_rec *r, size_t index)
{
    apr_table_setn(r->notes, "timing-route",
                   apr_psprintf(r->pool, "%lu", (unsigned long)index));
}

static size_t status_slot(int status)
{
    size_t i;

    for (i = 0; i < TM_N_STATUS - 1; i++) {
        if (tm_counted_status[i] == status) {
            return i;
        }
    }
    return TM_N_STATUS - 1;
}

int tm_counters_log(request_rec *r)
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
    for (i = 0; i < TM_N_BUCKETS && usec > tm_buckets[i].usec; i++)
        ;
    apr_atomic_inc64(&slot->buckets[i]);
    apr_atomic_add64(&slot->sum_usec, usec);
    return DECLINED;
}

int tm_counters_kept(void)
{
    return shm != NULL;
}

apr_uint64_t tm_counters_get(tm_counter c)
{
    return shm && c < TM_C_COUNT ? apr_atomic_read64(&shm->counters[c]) : 0;
}

void tm_counters_route(size_t route, tm_route_counts *out)
{
    route_slot *slot;
    size_t k;

    memset(out, 0, sizeof *out);
    if (!shm || route > route_count) {
        return;
    }
    slot = &shm->routes[route];
    for (k = 0; k < TM_N_STATUS; k++) {
        out->by_status[k] = apr_atomic_read64(&slot->by_status[k]);
    }
    for (k = 0; k <= TM_N_BUCKETS; k++) {
        out->buckets[k] = apr_atomic_read64(&slot->buckets[k]);
    }
    out->sum_usec = apr_atomic_read64(&slot->sum_usec);
}
