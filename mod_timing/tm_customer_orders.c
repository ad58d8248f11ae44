/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tm_customer_orders.c -- the customer's side of an order: its status, the
 * customer's own list, and cancelling while it is still pending.
 *
 * Thin handlers: who may see an order is tm_access.c's (this file only
 * gathers the REST credentials for it), the database is
 * tm_order_store.c's, paging and the order object tm_order_http.c's.  An
 * order the caller may not see answers exactly like one that does not
 * exist (404), so ids cannot be probed.
 */
#include "mod_timing.h"
#include "tm_customer_orders.h"
#include "tm_access.h"
#include "tm_db.h"
#include "tm_json.h"
#include "tm_order_http.h"
#include "tm_order_store.h"
#include "tm_valid.h"

#include "apr_strings.h"
#include "http_protocol.h"

APLOG_USE_MODULE(timing);

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

int tm_orders_status(tm_ctx *c)
{
    request_rec *r = c->r;
    ap_dbd_t *dbd = tm_db_acquire(r);
    tm_order *o;
    tm_sight sight;

    if (!dbd || tm_order_load(r, dbd, c->params[0], &o) != APR_SUCCESS) {
        return tm_fail_db(r);
    }
    if (!o || (sight = caller_sight(c, o)) == TM_SEES_NOTHING) {
        return tm_order_not_found(r);
    }
    tm_order_set_etag(r, o);
    return tm_send(r, HTTP_OK,
                   tm_order_json(r->pool, o, sight != TM_SEES_AS_STAFF),
                   NULL);
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
    args[1] = tm_page_before(r->pool, before);
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

/* What a cancel found when it held the order. */
typedef struct verdict {
    tm_ctx *c;
    tm_sight sight;
    int pending;
} verdict;

static const char *decide(void *baton, const tm_order *o)
{
    verdict *v = baton;

    v->sight = caller_sight(v->c, o);
    v->pending = !strcmp(o->status, "pending");
    return v->sight != TM_SEES_NOTHING && v->pending ? "cancelled" : NULL;
}

int tm_orders_cancel(tm_ctx *c)
{
    request_rec *r = c->r;
    const char *reason;
    tm_announcement a = { 0 };
    verdict v = { c, TM_SEES_NOTHING, 0 };
    ap_dbd_t *dbd;
    tm_order *o;
    int changed;

    if (!cancel_reason(c, &reason)) {
        return OK;
    }
    dbd = tm_db_acquire(r);
    if (!dbd || tm_order_update(r, dbd, c->params[0], decide, &v,
                                c->who ? c->who->user_id : NULL, reason, &o,
                                &changed, &a) != APR_SUCCESS) {
        return tm_fail_db(r);
    }
    if (!o || v.sight == TM_SEES_NOTHING) {
        return tm_order_not_found(r);
    }
    /* Cancelling twice answers the cancelled order again. */
    if (!changed && strcmp(o->status, "cancelled")) {
        return tm_fail(r, HTTP_CONFLICT, "not_cancellable",
                       "The kitchen has started on this order: it can no "
                       "longer be cancelled here.");
    }
    if (changed) {
        tm_order_announce(r, c->conf, &a);
    }
    return tm_send(r, HTTP_OK,
                   tm_order_json(r->pool, o, v.sight != TM_SEES_AS_STAFF),
                   NULL);
}
