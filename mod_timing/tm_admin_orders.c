/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tm_admin_orders.c -- what staff do with orders: the board's list, one
 * order with its history, and status changes.
 *
 * Thin handlers: the database is tm_order_store.c's, paging, the order
 * object, ETags and If-Match are tm_order_http.c's.  A status change
 * checks If-Match against the version of the order it holds locked, so
 * two staff changing one order cannot both win.
 */
#include "mod_timing.h"
#include "tm_admin_orders.h"
#include "tm_db.h"
#include "tm_json.h"
#include "tm_order_http.h"
#include "tm_order_store.h"
#include "tm_status.h"
#include "tm_valid.h"

#include "apr_strings.h"
#include "http_protocol.h"

APLOG_USE_MODULE(timing);

int tm_admin_orders_list(tm_ctx *c)
{
    request_rec *r = c->r;
    const char *status = apr_table_get(c->query, "status"), *args[3];
    apr_array_header_t *orders;
    apr_int64_t before;
    ap_dbd_t *dbd;
    long limit;

    if (status && *status && !tm_status_list_valid(status)) {
        tm_problems pr;

        tm_problems_init(&pr, r->pool);
        tm_problem_add(&pr, "status", "must be a comma-separated list of "
                       "pending, preparing, ready, completed, cancelled");
        return tm_fail_problems(r, &pr);
    }
    if (!tm_page_params(c, 200, 50, &limit, &before)) {
        return OK;
    }
    dbd = tm_db_acquire(r);
    args[0] = tm_page_before(r->pool, before);
    args[1] = status && *status ? status
              : "pending,preparing,ready,completed,cancelled";
    /* One more than the page: it says whether there is a next page. */
    args[2] = apr_ltoa(r->pool, limit + 1);
    if (!dbd || tm_orders_read(r, dbd, TM_Q_ORDERS_PAGE, 3, args, &orders)
                != APR_SUCCESS) {
        return tm_fail_db(r);
    }
    return tm_send_order_page(r, orders, 0, limit);
}

int tm_admin_orders_get(tm_ctx *c)
{
    request_rec *r = c->r;
    ap_dbd_t *dbd = tm_db_acquire(r);
    apr_array_header_t *steps;
    json_object *order;
    tm_order *o;

    if (!dbd || tm_order_load(r, dbd, c->params[0], &o) != APR_SUCCESS) {
        return tm_fail_db(r);
    }
    if (!o) {
        return tm_order_not_found(r);
    }
    if (tm_order_history(r, dbd, c->params[0], &steps) != APR_SUCCESS) {
        return tm_fail_db(r);
    }
    order = tm_order_json(r->pool, o, 0);
    /* The list belongs to the pool: the order takes a reference of its
     * own. */
    json_object_object_add(order, "status_history", json_object_get(
                               tm_order_history_json(r->pool, steps)));
    tm_order_set_etag(r, o);
    return tm_send(r, HTTP_OK, order, NULL);
}

/* What a status change found when it held the order. */
typedef struct verdict {
    request_rec *r;
    const char *to;
    int match;                  /* tm_order_if_match's answer */
    tm_change change;
} verdict;

static const char *decide(void *baton, const tm_order *o)
{
    verdict *v = baton;

    v->match = tm_order_if_match(v->r, o->version);
    if (v->match <= 0) {
        return NULL;
    }
    v->change = tm_status_change(o->status, v->to);
    return v->change == TM_CHANGE_OK ? v->to : NULL;
}

int tm_admin_orders_status(tm_ctx *c)
{
    static const tm_text_rule reason_rule = { 1, 200, 0, 1 };
    request_rec *r = c->r;
    json_object *body = tm_json_body_object(r, c->body, c->body_len), *field;
    const char *reason;
    tm_announcement a = { 0 };
    verdict v = { r, NULL, 0, TM_CHANGE_OK };
    tm_problems pr;
    ap_dbd_t *dbd;
    tm_order *o;
    int changed;

    if (!body) {
        return OK;
    }
    tm_problems_init(&pr, r->pool);
    if (!json_object_object_get_ex(body, "status", &field)
        || !tm_status_valid(v.to = tm_json_plain_string(field))) {
        tm_problem_add(&pr, "status", "must be one of pending, preparing, "
                       "ready, completed, cancelled");
    }
    reason = tm_valid_text(&pr, body, "reason", "reason", &reason_rule, 0);
    if (pr.list->nelts) {
        return tm_fail_problems(r, &pr);
    }

    dbd = tm_db_acquire(r);
    if (!dbd || tm_order_update(r, dbd, c->params[0], decide, &v,
                                c->who->user_id, reason, &o, &changed, &a)
                != APR_SUCCESS) {
        return tm_fail_db(r);
    }
    if (!o) {
        return tm_order_not_found(r);
    }
    if (v.match <= 0) {
        tm_order_set_etag(r, o);
        return tm_fail(r, HTTP_PRECONDITION_FAILED, "precondition_failed",
                       v.match < 0 ? "If-Match must be an entity tag such as "
                                     "\"3\"."
                                   : "The order has changed since; fetch it "
                                     "again.");
    }
    if (v.change == TM_CHANGE_FINAL) {
        return tm_fail(r, HTTP_CONFLICT, "invalid_transition",
                       apr_psprintf(r->pool, "The order is %s: that is "
                                    "final.", o->status));
    }
    if (changed) {
        tm_order_announce(r, c->conf, &a);
    }
    tm_order_set_etag(r, o);
    return tm_send(r, HTTP_OK, tm_order_json(r->pool, o, 0), NULL);
}
