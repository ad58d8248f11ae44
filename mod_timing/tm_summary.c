/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tm_summary.c -- the day's summary.
 *
 * A day is the shop's calendar day: orders carry the date they were
 * placed on in the shop's timezone (orders.shop_date), so the summary
 * needs no time arithmetic.  Revenue leaves cancelled orders out.
 */
#include "mod_timing.h"
#include "tm_summary.h"
#include "tm_db.h"
#include "tm_json.h"
#include "tm_money.h"
#include "tm_order_store.h"
#include "tm_time.h"
#include "tm_valid.h"

#include "apr_strings.h"
#include "http_protocol.h"

#include <stdlib.h>

APLOG_USE_MODULE(timing);

/* A CSV field: quoted when needed, and a leading = + - @ defused so a
 * spreadsheet does not run a customer's name as a formula. */
static const char *csv(apr_pool_t *p, const char *s)
{
    apr_size_t i, n = 0;
    char *out;

    if (!s) {
        return "";
    }
    out = apr_palloc(p, 2 * strlen(s) + 4);
    out[n++] = '"';
    if (strchr("=+-@", s[0]) && s[0]) {
        out[n++] = '\'';
    }
    for (i = 0; s[i]; i++) {
        if (s[i] == '"') {
            out[n++] = '"';
        }
        out[n++] = s[i];
    }
    out[n++] = '"';
    out[n] = '\0';
    return out;
}

static int wants_csv(request_rec *r)
{
    const char *accept = apr_table_get(r->headers_in, "Accept");

    return accept && ap_strcasestr(accept, "text/csv") != NULL;
}

static int send_csv(request_rec *r, ap_dbd_t *dbd, const char *day)
{
    const char *args[1] = { day };
    apr_array_header_t *orders;
    int i, j;

    if (tm_orders_read(r, dbd, TM_Q_DAY_ORDERS, 1, args, &orders)
        != APR_SUCCESS) {
        return tm_fail_db(r);
    }
    ap_set_content_type(r, "text/csv; charset=utf-8");
    apr_table_setn(r->headers_out, "Content-Disposition",
                   apr_psprintf(r->pool, "attachment; "
                                "filename=\"timing-orders-%s.csv\"", day));
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    ap_rputs("id,pickup_number,created_at,status,customer_name,items,total,"
             "currency\r\n", r);
    for (i = 0; i < orders->nelts; i++) {
        const tm_order *o = APR_ARRAY_IDX(orders, i, tm_order *);
        char iso[TM_ISO_LEN], total[TM_MONEY_LEN];
        const char *items = "";

        for (j = 0; j < o->nitems; j++) {
            items = apr_psprintf(r->pool, "%s%s%dx %s", items, j ? "; " : "",
                                 o->items[j].quantity,
                                 o->items[j].menu_name);
        }
        if (tm_time_iso_from_db(o->created_at, iso) != 0) {
            iso[0] = '\0';
        }
        tm_money_format(o->total, total);
        ap_rprintf(r, "%" APR_INT64_T_FMT ",%" APR_INT64_T_FMT
                   ",%s,%s,%s,%s,%s,%s\r\n", o->id, o->pickup_number, iso,
                   o->status, csv(r->pool, o->name), csv(r->pool, items),
                   total, o->currency);
    }
    return OK;
}

int tm_summary_get(tm_ctx *c)
{
    static const char *const statuses[] = {
        "pending", "preparing", "ready", "completed", "cancelled"
    };
    request_rec *r = c->r;
    const char *day = apr_table_get(c->query, "date"), *args[1];
    json_object *data, *by_status, *items;
    apr_dbd_results_t *res;
    apr_dbd_row_t *row;
    apr_int64_t orders = 0, revenue = 0;
    ap_dbd_t *dbd;
    size_t i;

    if (day && !tm_valid_date(day)) {
        tm_problems pr;

        tm_problems_init(&pr, r->pool);
        tm_problem_add(&pr, "date", "must be a date YYYY-MM-DD");
        return tm_fail_problems(r, &pr);
    }
    dbd = tm_db_acquire(r);
    if (!dbd) {
        return tm_fail_db(r);
    }
    if (!day) {
        if (tm_db_select(r, dbd, TM_Q_SHOP_TODAY, &res, 0, NULL)
            != APR_SUCCESS) {
            return tm_fail_db(r);
        }
        while (tm_db_next(r, dbd, res, &row)) {
            const char *v = tm_db_col(dbd, row, 0);

            day = v ? apr_pstrdup(r->pool, v) : NULL;
        }
        if (!day) {
            return tm_fail_db(r);
        }
    }
    if (wants_csv(r)) {
        return send_csv(r, dbd, day);
    }

    args[0] = day;
    by_status = json_object_new_object();
    for (i = 0; i < sizeof statuses / sizeof *statuses; i++) {
        json_object_object_add(by_status, statuses[i],
                               json_object_new_int(0));
    }
    tm_json_put_cleanup(r->pool, by_status);
    if (tm_db_select(r, dbd, TM_Q_DAY_BY_STATUS, &res, 1, args)
        != APR_SUCCESS) {
        return tm_fail_db(r);
    }
    while (tm_db_next(r, dbd, res, &row)) {
        const char *status = tm_db_col(dbd, row, 0);
        apr_int64_t n = apr_atoi64(tm_db_col(dbd, row, 1));

        json_object_object_add(by_status, status, json_object_new_int64(n));
        orders += n;
        if (strcmp(status, "cancelled")) {
            revenue += apr_atoi64(tm_db_col(dbd, row, 2));
        }
    }
    items = tm_json_array(r->pool);
    if (tm_db_select(r, dbd, TM_Q_DAY_ITEMS, &res, 1, args) != APR_SUCCESS) {
        return tm_fail_db(r);
    }
    while (tm_db_next(r, dbd, res, &row)) {
        json_object *item = json_object_new_object();

        json_object_object_add(item, "menu_id", json_object_new_int64(
                                   apr_atoi64(tm_db_col(dbd, row, 0))));
        json_object_object_add(item, "name", json_object_new_string(
                                   tm_db_col(dbd, row, 1)));
        json_object_object_add(item, "quantity", json_object_new_int64(
                                   apr_atoi64(tm_db_col(dbd, row, 2))));
        json_object_object_add(item, "revenue",
                               tm_json_money(apr_atoi64(tm_db_col(dbd, row, 3))));
        json_object_array_add(items, item);
    }
    data = json_object_new_object();
    json_object_object_add(data, "date", json_object_new_string(day));
    json_object_object_add(data, "orders", json_object_new_int64(orders));
    json_object_object_add(data, "by_status", json_object_get(by_status));
    json_object_object_add(data, "revenue", tm_json_money(revenue));
    json_object_object_add(data, "items", json_object_get(items));
    return tm_send(r, HTTP_OK, data, NULL);
}
