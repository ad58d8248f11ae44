/*
 * tm_admin_orders.c -- what staff do with orders.
 *
 * Pages run newest first by id with an opaque cursor (the last id seen):
 * orders created while a client pages appear at the top, never between
 * pages, so nothing that existed is skipped or repeated.  A status change
 * locks the order, checks If-Match against its version, and writes the
 * change, its history and its event in one transaction.
 */
#include "mod_timing.h"
#include "tm_admin_orders.h"
#include "tm_customer_orders.h"
#include "tm_db.h"
#include "tm_json.h"
#include "tm_order_change.h"
#include "tm_status.h"
#include "tm_time.h"
#include "tm_valid.h"

#include "apr_lib.h"
#include "apr_strings.h"
#include "http_protocol.h"

#include <errno.h>
#include <stdlib.h>

APLOG_USE_MODULE(timing);

#define TM_INT64_MAX_TEXT "9223372036854775807"

static void set_etag(request_rec *r, const tm_order *o)
{
    apr_table_setn(r->headers_out, "ETag",
                   apr_psprintf(r->pool, "\"%" APR_INT64_T_FMT "\"",
                                o->version));
}

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
    args[0] = before ? apr_psprintf(r->pool, "%" APR_INT64_T_FMT, before)
                     : TM_INT64_MAX_TEXT;
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

static json_object *history(request_rec *r, ap_dbd_t *dbd, const char *id)
{
    const char *args[1] = { id };
    apr_dbd_results_t *res;
    apr_dbd_row_t *row;
    json_object *list;

    if (tm_db_select(r, dbd, TM_Q_ORDER_HISTORY, &res, 1, args)
        != APR_SUCCESS) {
        return NULL;
    }
    list = tm_json_array(r->pool);
    while (tm_db_next(r, dbd, res, &row)) {
        json_object *h = json_object_new_object(), *by = NULL;
        const char *from = tm_db_col(dbd, row, 0);
        const char *user = tm_db_col(dbd, row, 2);
        const char *reason = tm_db_col(dbd, row, 4);
        char iso[TM_ISO_LEN];

        json_object_object_add(h, "from",
                               from ? json_object_new_string(from) : NULL);
        json_object_object_add(h, "to", json_object_new_string(
                                   tm_db_col(dbd, row, 1)));
        if (user) {
            const char *name = tm_db_col(dbd, row, 3);

            by = json_object_new_object();
            json_object_object_add(by, "id", json_object_new_int64(
                                       apr_atoi64(user)));
            json_object_object_add(by, "name",
                                   name ? json_object_new_string(name)
                                        : NULL);
        }
        json_object_object_add(h, "by", by);
        json_object_object_add(h, "reason",
                               reason ? json_object_new_string(reason)
                                      : NULL);
        json_object_object_add(h, "at",
                               tm_time_iso_from_db(tm_db_col(dbd, row, 5),
                                                   iso) == 0
                               ? json_object_new_string(iso) : NULL);
        json_object_array_add(list, h);
    }
    return list;
}

int tm_admin_orders_get(tm_ctx *c)
{
    request_rec *r = c->r;
    ap_dbd_t *dbd = tm_db_acquire(r);
    json_object *order, *hist;
    tm_order *o;

    if (!dbd || tm_order_load(r, dbd, c->params[0], 0, &o) != APR_SUCCESS) {
        return tm_fail_db(r);
    }
    if (!o) {
        return tm_fail(r, HTTP_NOT_FOUND, "not_found", "No such order.");
    }
    if (!(hist = history(r, dbd, c->params[0]))) {
        return tm_fail_db(r);
    }
    order = tm_order_json(r->pool, o, 0);
    json_object_object_add(order, "status_history", json_object_get(hist));
    set_etag(r, o);
    return tm_send(r, HTTP_OK, order, NULL);
}

/* If-Match: "<version>", a list of entity tags, or *.  RFC 9110 makes
 * If-Match a strong comparison: a weak tag (W/"3") never matches, even
 * in a list beside a strong one that might.  Returns 1 when the order's
 * version matches, 0 when it does not, -1 when malformed. */
static int if_match(request_rec *r, apr_int64_t version)
{
    const char *h = apr_table_get(r->headers_in, "If-Match");
    const char *p;
    int matched = 0;

    if (!h) {
        return 1;
    }
    p = h;
    for (;;) {
        const char *tag, *close;
        int weak = 0;

        while (*p == ' ' || *p == '\t' || *p == ',') {
            p++;
        }
        if (!*p) {
            break;
        }
        if (*p == '*') {
            /* Any current representation: the order exists (404 came
             * before this). */
            matched = 1;
            p++;
            continue;
        }
        if ((p[0] == 'W' || p[0] == 'w') && p[1] == '/') {
            weak = 1;
            p += 2;
        }
        if (*p != '"' || !(close = strchr(p + 1, '"'))) {
            return -1;
        }
        tag = p + 1;
        p = close + 1;
        if (*p && *p != ',' && *p != ' ' && *p != '\t') {
            return -1;
        }
        if (!weak && close > tag) {
            char *end;
            apr_int64_t v;
            const char *digits = apr_pstrmemdup(r->pool, tag,
                                                (apr_size_t)(close - tag));

            errno = 0;
            v = apr_strtoi64(digits, &end, 10);
            /* Someone else's tag cannot match; ours are plain digits. */
            if (!*end && !errno && apr_isdigit(*digits) && v == version) {
                matched = 1;
            }
        }
    }
    return matched;
}

int tm_admin_orders_status(tm_ctx *c)
{
    static const tm_text_rule reason_rule = { 1, 200, 0, 1 };
    request_rec *r = c->r;
    json_object *body = tm_json_body_object(r, c->body, c->body_len), *v;
    const char *to = NULL, *reason;
    tm_announcement a = { 0 };
    tm_problems pr;
    ap_dbd_t *dbd;
    tm_order *o;
    tm_txn *txn;
    int match;

    if (!body) {
        return OK;
    }
    tm_problems_init(&pr, r->pool);
    if (!json_object_object_get_ex(body, "status", &v)
        || !tm_status_valid(to = tm_json_plain_string(v))) {
        tm_problem_add(&pr, "status", "must be one of pending, preparing, "
                       "ready, completed, cancelled");
    }
    reason = tm_valid_text(&pr, body, "reason", "reason", &reason_rule, 0);
    if (pr.list->nelts) {
        return tm_fail_problems(r, &pr);
    }

    dbd = tm_db_acquire(r);
    if (!dbd || tm_db_begin(r, dbd, &txn) != APR_SUCCESS) {
        return tm_fail_db(r);
    }
    if (tm_order_load(r, dbd, c->params[0], 1, &o) != APR_SUCCESS) {
        tm_db_rollback(txn);
        return tm_fail_db(r);
    }
    if (!o) {
        tm_db_rollback(txn);
        return tm_fail(r, HTTP_NOT_FOUND, "not_found", "No such order.");
    }
    match = if_match(r, o->version);
    if (match <= 0) {
        tm_db_rollback(txn);
        set_etag(r, o);
        return tm_fail(r, HTTP_PRECONDITION_FAILED, "precondition_failed",
                       match < 0 ? "If-Match must be an entity tag such as "
                                   "\"3\"."
                                 : "The order has changed since; fetch it "
                                   "again.");
    }
    switch (tm_status_change(o->status, to)) {
    case TM_CHANGE_SAME:
        tm_db_rollback(txn);
        set_etag(r, o);
        return tm_send(r, HTTP_OK, tm_order_json(r->pool, o, 0), NULL);
    case TM_CHANGE_FINAL:
        tm_db_rollback(txn);
        return tm_fail(r, HTTP_CONFLICT, "invalid_transition",
                       apr_psprintf(r->pool, "The order is %s: that is "
                                    "final.", o->status));
    case TM_CHANGE_OK:
        break;
    }
    if (tm_order_change(r, dbd, o, to, c->who->user_id, reason, &a)
        != APR_SUCCESS || tm_db_commit(txn) != APR_SUCCESS) {
        tm_db_rollback(txn);
        return tm_fail_db(r);
    }
    tm_order_announce(r, c->conf, &a);
    set_etag(r, o);
    return tm_send(r, HTTP_OK, tm_order_json(r->pool, o, 0), NULL);
}
