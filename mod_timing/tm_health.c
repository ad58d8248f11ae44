/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tm_health.c -- GET /api/health: is the database reachable (and
 * migrated), and is timing-eventd answering.
 *
 * The database decides the status code (503 without it: no request could
 * be served); the daemon only degrades the answer, since REST works
 * without live updates.
 */
#include "mod_timing.h"
#include "tm_health.h"
#include "tm_db.h"
#include "tm_json.h"
#include "tm_notify.h"

#include "http_protocol.h"

APLOG_USE_MODULE(timing);

/* Long enough for a busy daemon, short enough for a health probe. */
#define TM_HEALTH_EVENTS_TIMEOUT apr_time_from_msec(250)

static int database_up(request_rec *r)
{
    ap_dbd_t *dbd = tm_db_acquire(r);
    apr_dbd_results_t *res;
    apr_dbd_row_t *row;
    int found = 0;

    if (!dbd || tm_db_select(r, dbd, TM_Q_EPOCH_GET, &res, 0, NULL)
                != APR_SUCCESS) {
        return 0;
    }
    while (tm_db_next(r, dbd, res, &row)) {
        found = 1;
    }
    return found;
}

int tm_health_get(tm_ctx *c)
{
    request_rec *r = c->r;
    json_object *stats = NULL, *data;
    int events_up;

    if (!database_up(r)) {
        return tm_fail_db(r);
    }
    events_up = tm_notify_stats(r, c->conf,
                                TM_HEALTH_EVENTS_TIMEOUT, &stats)
                == APR_SUCCESS;
    data = json_object_new_object();
    json_object_object_add(data, "status",
                           json_object_new_string(events_up ? "ok"
                                                            : "degraded"));
    json_object_object_add(data, "db", json_object_new_string("up"));
    json_object_object_add(data, "events",
                           json_object_new_string(events_up ? "up" : "down"));
    return tm_send(r, HTTP_OK, data, NULL);
}
