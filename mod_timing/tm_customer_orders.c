/*
 * tm_customer_orders.c -- the customer's side of an order.
 *
 * An order the caller may not see answers exactly like one that does not
 * exist (404), so ids cannot be probed.  Tracking tokens are compared by
 * their SHA-1 in constant time.
 */
#include "mod_timing.h"
#include "tm_customer_orders.h"
#include "tm_access.h"
#include "tm_db.h"
#include "tm_json.h"
#include "tm_order_change.h"
#include "tm_query.h"
#include "tm_valid.h"

#include "apr_strings.h"
#include "http_protocol.h"

APLOG_USE_MODULE(timing);

#define TM_INT64_MAX_TEXT "9223372036854775807"

/* REST looks at ?tracking_token= and the cookie whatever else was sent:
 * either shows the order, also to a customer signed in as someone else.
 * There is no origin check here; the WebSocket guard has one because a
 * browser sends the cookie with any site's upgrade request. */
static tm_sight caller_sight(tm_ctx *c, const tm_order *o)
{
    request_rec *r = c->r;
    tm_sight_claim claim = { 0 };

    if (c->who) {
        claim.role = c->who->role;
        claim.user_id = c->who->user_id;
    }
    claim.tracking = apr_table_get(c->query, "tracking_token");
    claim.cookie = tm_cookie_value(r->pool,
                                   apr_table_get(r->headers_in, "Cookie"),
                                   apr_psprintf(r->pool, TM_TRACKING_COOKIE
                                                "%" APR_INT64_T_FMT, o->id));
    return tm_order_sight(r->pool, o->user_id, o->tracking_hash, &claim);
}

static int not_found(request_rec *r)
{
    return tm_fail(r, HTTP_NOT_FOUND, "not_found", "No such order.");
}

int tm_orders_status(tm_ctx *c)
{
    request_rec *r = c->r;
    ap_dbd_t *dbd = tm_db_acquire(r);
    tm_order *o;
    tm_sight sight;

    if (!dbd || tm_order_load(r, dbd, c->params[0], 0, &o) != APR_SUCCESS) {
        return tm_fail_db(r);
    }
    if (!o || (sight = caller_sight(c, o)) == TM_SEES_NOTHING) {
        return not_found(r);
    }
    apr_table_setn(r->headers_out, "ETag",
                   apr_psprintf(r->pool, "\"%" APR_INT64_T_FMT "\"",
                                o->version));
    return tm_send(r, HTTP_OK,
                   tm_order_json(r->pool, o, sight != TM_SEES_AS_STAFF),
                   NULL);
}

int tm_page_params(tm_ctx *c, long max_limit, long dflt, long *limit,
                   apr_int64_t *before)
{
    const char *cursor = apr_table_get(c->query, "cursor");
    tm_problems pr;

    tm_problems_init(&pr, c->r->pool);
    if (!tm_query_int(c->query, "limit", 1, max_limit, dflt, limit)) {
        tm_problem_add(&pr, "limit", apr_psprintf(c->r->pool,
                       "must be an integer from 1 to %ld", max_limit));
    }
    *before = 0;
    if (cursor && *cursor && !tm_cursor_decode(c->r->pool, cursor, before)) {
        tm_problem_add(&pr, "cursor", "is not a cursor this API gave out");
    }
    if (pr.list->nelts) {
        tm_fail_problems(c->r, &pr);
        return 0;
    }
    return 1;
}

int tm_send_order_page(request_rec *r, apr_array_header_t *orders,
                       int masked, long limit)
{
    json_object *list = json_object_new_array();
    json_object *meta = json_object_new_object();
    apr_int64_t last = 0;
    int i, shown = orders->nelts > limit ? (int)limit : orders->nelts;

    for (i = 0; i < shown; i++) {
        const tm_order *o = APR_ARRAY_IDX(orders, i, tm_order *);

        json_object_array_add(list, tm_order_json(r->pool, o, masked));
        last = o->id;
    }
    /* The caller read one order more than the page holds: only when it
     * exists is there a next page (an exactly full last page has none),
     * and the next starts below the last one shown. */
    json_object_object_add(meta, "next_cursor",
                           orders->nelts > limit && last
                           ? json_object_new_string(
                                 tm_cursor_encode(r->pool, last))
                           : NULL);
    json_object_object_add(meta, "count", json_object_new_int(shown));
    return tm_send(r, HTTP_OK, list, meta);
}

int tm_orders_mine(tm_ctx *c)
{
    request_rec *r = c->r;
    ap_dbd_t *dbd;
    apr_array_header_t *orders;
    const char *args[3];
    apr_int64_t before;
    long limit;

    if (!tm_page_params(c, 200, 50, &limit, &before)) {
        return OK;
    }
    dbd = tm_db_acquire(r);
    args[0] = c->who->user_id;
    args[1] = before ? apr_psprintf(r->pool, "%" APR_INT64_T_FMT, before)
                     : TM_INT64_MAX_TEXT;
    /* One more than the page: it says whether there is a next page. */
    args[2] = apr_ltoa(r->pool, limit + 1);
    if (!dbd || tm_orders_read(r, dbd, TM_Q_ORDERS_OF_USER, 3, args, &orders)
                != APR_SUCCESS) {
        return tm_fail_db(r);
    }
    return tm_send_order_page(r, orders, 1, limit);
}

/* The optional {reason} of a cancel; NULL body is fine.  Returns 0 after
 * answering a bad body. */
static int cancel_reason(tm_ctx *c, const char **reason)
{
    static const tm_text_rule rule = { 1, 200, 0, 1 };
    json_object *body;
    tm_problems pr;

    *reason = NULL;
    if (c->body_len == 0) {
        return 1;
    }
    if (!(body = tm_json_body_object(c->r, c->body, c->body_len))) {
        return 0;
    }
    tm_problems_init(&pr, c->r->pool);
    *reason = tm_valid_text(&pr, body, "reason", "reason", &rule, 0);
    if (pr.list->nelts) {
        tm_fail_problems(c->r, &pr);
        return 0;
    }
    return 1;
}

int tm_orders_cancel(tm_ctx *c)
{
    request_rec *r = c->r;
    const char *reason;
    tm_announcement a = { 0 };
    ap_dbd_t *dbd;
    tm_order *o;
    tm_sight sight;
    tm_txn *txn;

    if (!cancel_reason(c, &reason)) {
        return OK;
    }
    dbd = tm_db_acquire(r);
    if (!dbd || tm_db_begin(r, dbd, &txn) != APR_SUCCESS) {
        return tm_fail_db(r);
    }
    if (tm_order_load(r, dbd, c->params[0], 1, &o) != APR_SUCCESS) {
        tm_db_rollback(txn);
        return tm_fail_db(r);
    }
    if (!o || (sight = caller_sight(c, o)) == TM_SEES_NOTHING) {
        tm_db_rollback(txn);
        return not_found(r);
    }
    if (!strcmp(o->status, "cancelled")) {
        tm_db_rollback(txn);
        return tm_send(r, HTTP_OK,
                       tm_order_json(r->pool, o, sight != TM_SEES_AS_STAFF),
                       NULL);
    }
    if (strcmp(o->status, "pending")) {
        tm_db_rollback(txn);
        return tm_fail(r, HTTP_CONFLICT, "not_cancellable",
                       "The kitchen has started on this order: it can no "
                       "longer be cancelled here.");
    }
    if (tm_order_change(r, dbd, o, "cancelled",
                        c->who ? c->who->user_id : NULL, reason, &a)
        != APR_SUCCESS || tm_db_commit(txn) != APR_SUCCESS) {
        tm_db_rollback(txn);
        return tm_fail_db(r);
    }
    tm_order_announce(r, c->conf, &a);
    return tm_send(r, HTTP_OK,
                   tm_order_json(r->pool, o, sight != TM_SEES_AS_STAFF),
                   NULL);
}
