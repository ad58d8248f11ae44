/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tm_events.c -- GET /api/admin/events and the daemon's figures.
 *
 * Event ids come from AUTO_INCREMENT, and concurrent transactions commit
 * out of id order, so a read could see id 8 before id 7 exists.  Reads stay
 * monotonic by answering only up to the first gap in ids that is younger
 * than TimingEventHorizon: a younger gap may still fill, an older one is a
 * rollback and never will (transactions are kept far shorter).
 *
 * Revoke rows (a user's tokens were revoked, for timing-eventd) share the
 * ids but are no client's business: they are read so that their ids do
 * not look like gaps, and never shown.
 */
#include "mod_timing.h"
#include "tm_events.h"
#include "tm_db.h"
#include "tm_json.h"
#include "tm_notify.h"
#include "tm_query.h"
#include "tm_time.h"
#include "tm_valid.h"

#include "apr_strings.h"
#include "http_protocol.h"

APLOG_USE_MODULE(timing);

#define TM_STATS_TIMEOUT apr_time_from_msec(500)

/* timing-maintain prunes events past TimingEventRetention.  A reader
 * whose `after` is below the highest pruned id has missed events that no
 * longer exist: a page from what is left would look complete and be
 * wrong, so it gets 410 events_pruned, and reloads its lists (the SDK
 * turns this into resync with caughtUp false).  *answered says whether
 * it answered (410, or 503 when the database failed). */
static int pruned_after(request_rec *r, ap_dbd_t *dbd, long after,
                        int *answered)
{
    apr_status_t rv;
    const char *v = tm_db_value(r, dbd, TM_Q_EVENTS_PRUNED, 0, NULL, &rv);
    apr_int64_t through = v ? apr_atoi64(v) : 0;
    json_object *details, *d;

    *answered = 1;
    if (rv != APR_SUCCESS) {
        return tm_fail_db(r);
    }
    if ((apr_int64_t)after >= through) {
        *answered = 0;
        return OK;
    }
    details = json_object_new_array();
    d = json_object_new_object();
    json_object_object_add(d, "field", json_object_new_string("after"));
    json_object_object_add(d, "message", json_object_new_string(
        apr_psprintf(r->pool, "events up to %" APR_INT64_T_FMT " have been "
                     "pruned; reload, then follow from %" APR_INT64_T_FMT,
                     through, through)));
    json_object_array_add(details, d);
    return tm_fail_details(r, HTTP_GONE, "events_pruned",
                           "Events after this point are no longer kept: "
                           "reload the orders instead of catching up.",
                           details);
}

int tm_events_list(tm_ctx *c)
{
    request_rec *r = c->r;
    const char *args[4];
    apr_dbd_results_t *res;
    apr_dbd_row_t *row;
    json_object *list, *meta;
    long after, limit;
    apr_int64_t prev, last = 0;
    tm_problems pr;
    ap_dbd_t *dbd;
    int n = 0, stopped = 0, more = 0, rv, answered;

    tm_problems_init(&pr, r->pool);
    if (!tm_query_int(c->query, "after", 0, 2147483647L * 2, 0, &after)) {
        tm_problem_add(&pr, "after", "must be an event id (0 or more)");
    }
    if (!tm_query_int(c->query, "limit", 1, 1000, 100, &limit)) {
        tm_problem_add(&pr, "limit", "must be an integer from 1 to 1000");
    }
    if (pr.list->nelts) {
        return tm_fail_problems(r, &pr);
    }
    dbd = tm_db_acquire(r);
    if (!dbd) {
        return tm_fail_db(r);
    }
    rv = pruned_after(r, dbd, after, &answered);
    if (answered) {
        return rv;
    }
    args[0] = apr_psprintf(r->pool, "%" APR_INT64_T_FMT,
                           (apr_int64_t)c->conf->event_horizon);
    args[1] = apr_ltoa(r->pool, after);
    args[2] = args[1];
    /* One shown row more than the page: it says whether a next page
     * exists, so an exactly full last page has no next_cursor. */
    args[3] = apr_ltoa(r->pool, limit + 1);
    if (tm_db_select(r, dbd, TM_Q_EVENTS_AFTER, &res, 4, args)
                != APR_SUCCESS) {
        return tm_fail_db(r);
    }
    list = json_object_new_array();
    prev = after;
    while (tm_db_next(r, dbd, res, &row)) {
        apr_int64_t id = apr_atoi64(tm_db_col(dbd, row, 0));
        int young = tm_db_col(dbd, row, 3)[0] == '1';
        json_object *entry;
        char iso[TM_ISO_LEN];

        /* Keep draining rows after a stop: the driver needs them read. */
        if (stopped || (id != prev + 1 && young)) {
            stopped = 1;
            continue;
        }
        if (tm_db_col(dbd, row, 4)[0] == '1') {
            prev = id;          /* hidden, but no gap */
            continue;
        }
        if (n == limit) {
            /* A row the log may answer with, past the page: the client
             * has more to catch up on at once.  Behind a young gap it
             * would not, and next_cursor stays null: the client asks
             * again later from the last event it holds. */
            more = 1;
            stopped = 1;
            continue;
        }
        entry = json_tokener_parse(tm_db_col(dbd, row, 1));
        if (!entry) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, TMLOGNO(00701)
                          "event %" APR_INT64_T_FMT " holds no JSON", id);
            stopped = 1;
            continue;
        }
        json_object_object_add(entry, "event_id", json_object_new_int64(id));
        json_object_object_add(entry, "created_at",
                               tm_time_iso_from_db(tm_db_col(dbd, row, 2),
                                                   iso) == 0
                               ? json_object_new_string(iso) : NULL);
        json_object_array_add(list, entry);
        prev = last = id;
        n++;
    }
    meta = json_object_new_object();
    json_object_object_add(meta, "next_cursor", more
                           ? json_object_new_int64(last) : NULL);
    json_object_object_add(meta, "count", json_object_new_int(n));
    return tm_send(r, HTTP_OK, list, meta);
}

int tm_events_ws_stats(tm_ctx *c)
{
    json_object *stats;

    if (tm_notify_stats(c->r, c->conf, TM_STATS_TIMEOUT,
                        &stats) != APR_SUCCESS) {
        apr_table_setn(c->r->headers_out, "Retry-After", "5");
        return tm_fail(c->r, HTTP_SERVICE_UNAVAILABLE, "events_unavailable",
                       "The WebSocket service is not answering.");
    }
    return tm_send(c->r, HTTP_OK, json_object_get(stats), NULL);
}
