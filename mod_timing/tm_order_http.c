/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tm_order_http.c -- orders over HTTP (see tm_order_http.h).
 *
 * Pages run newest first by id with an opaque cursor (the last id seen):
 * orders created while a client pages appear at the top, never between
 * pages, so nothing that existed is skipped or repeated.
 */
#include "mod_timing.h"
#include "tm_order_http.h"
#include "tm_json.h"
#include "tm_mask.h"
#include "tm_query.h"
#include "tm_time.h"
#include "tm_valid.h"

#include "apr_lib.h"
#include "apr_strings.h"
#include "http_protocol.h"

#include <errno.h>

APLOG_USE_MODULE(timing);

/* Above every order id: the first page starts below it. */
#define TM_INT64_MAX_TEXT "9223372036854775807"

static json_object *time_json(const char *db)
{
    char iso[TM_ISO_LEN];

    return db && tm_time_iso_from_db(db, iso) == 0
           ? json_object_new_string(iso) : NULL;
}

static json_object *text(const char *s)
{
    return s ? json_object_new_string(s) : NULL;
}

json_object *tm_order_json(apr_pool_t *p, const tm_order *o, int masked)
{
    json_object *order = json_object_new_object();
    json_object *customer = json_object_new_object();
    json_object *items = json_object_new_array();
    int i;

    json_object_object_add(order, "id", json_object_new_int64(o->id));
    json_object_object_add(order, "pickup_number",
                           json_object_new_int64(o->pickup_number));
    json_object_object_add(order, "version",
                           json_object_new_int64(o->version));
    json_object_object_add(order, "status", text(o->status));
    json_object_object_add(customer, "name", text(o->name));
    json_object_object_add(customer, "phone",
                           text(masked ? tm_mask_phone(p, o->phone)
                                       : o->phone));
    json_object_object_add(customer, "email",
                           text(masked ? tm_mask_email(p, o->email)
                                       : o->email));
    json_object_object_add(order, "customer_info", customer);
    for (i = 0; i < o->nitems; i++) {
        const tm_item *l = &o->items[i];
        json_object *item = json_object_new_object();

        json_object_object_add(item, "id", json_object_new_int64(l->id));
        json_object_object_add(item, "menu_id",
                               json_object_new_int64((int64_t)l->menu_id));
        json_object_object_add(item, "menu_name", text(l->menu_name));
        json_object_object_add(item, "price", tm_json_money(l->price));
        json_object_object_add(item, "quantity",
                               json_object_new_int(l->quantity));
        json_object_object_add(item, "note", text(l->note));
        json_object_object_add(item, "subtotal",
                               tm_json_money(l->price * l->quantity));
        json_object_array_add(items, item);
    }
    json_object_object_add(order, "items", items);
    json_object_object_add(order, "total", tm_json_money(o->total));
    json_object_object_add(order, "currency", text(o->currency));
    json_object_object_add(order, "note", text(o->note));
    json_object_object_add(order, "created_at", time_json(o->created_at));
    json_object_object_add(order, "updated_at", time_json(o->updated_at));
    return order;
}

json_object *tm_order_history_json(apr_pool_t *p,
                                   const apr_array_header_t *steps)
{
    json_object *list = tm_json_array(p);
    int i;

    for (i = 0; i < steps->nelts; i++) {
        const tm_order_step *s = &APR_ARRAY_IDX(steps, i, tm_order_step);
        json_object *h = json_object_new_object(), *by = NULL;

        json_object_object_add(h, "from", text(s->from));
        json_object_object_add(h, "to", json_object_new_string(s->to));
        if (s->by_id) {
            by = json_object_new_object();
            json_object_object_add(by, "id", json_object_new_int64(
                                       apr_atoi64(s->by_id)));
            json_object_object_add(by, "name", text(s->by_name));
        }
        json_object_object_add(h, "by", by);
        json_object_object_add(h, "reason", text(s->reason));
        json_object_object_add(h, "at", time_json(s->at));
        json_object_array_add(list, h);
    }
    return list;
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

const char *tm_page_before(apr_pool_t *p, apr_int64_t before)
{
    return before ? apr_psprintf(p, "%" APR_INT64_T_FMT, before)
                  : TM_INT64_MAX_TEXT;
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

void tm_order_set_etag(request_rec *r, const tm_order *o)
{
    apr_table_setn(r->headers_out, "ETag",
                   apr_psprintf(r->pool, "\"%" APR_INT64_T_FMT "\"",
                                o->version));
}

/* If-Match: "<version>", a list of entity tags, or *.  The comparison is
 * strong: a weak tag (W/"3") never matches, even in a list beside a
 * strong one that might. */
int tm_order_if_match(request_rec *r, apr_int64_t version)
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

int tm_order_not_found(request_rec *r)
{
    return tm_fail(r, HTTP_NOT_FOUND, "not_found", "No such order.");
}
