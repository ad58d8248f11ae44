/*
 * tm_menu.c -- the shop's settings and its menu, as anyone may read them.
 *
 * Prices leave the database as integer minor units and become JSON
 * numbers through tm_money, never through a double.
 */
#include "mod_timing.h"
#include "tm_menu.h"
#include "tm_db.h"
#include "tm_json.h"
#include "tm_money.h"

#include "apr_strings.h"
#include "http_protocol.h"

#include <stdlib.h>

APLOG_USE_MODULE(timing);

static json_object *money(const char *minor_text)
{
    char buf[TM_MONEY_LEN];

    tm_money_format(strtoll(minor_text, NULL, 10), buf);
    return json_object_new_double_s(atof(buf), buf);
}

static json_object *flag(const char *text)
{
    return json_object_new_boolean(text && text[0] == '1');
}

int tm_shop_get(tm_ctx *c)
{
    request_rec *r = c->r;
    ap_dbd_t *dbd = tm_db_acquire(r);
    apr_dbd_results_t *res;
    apr_dbd_row_t *row;
    json_object *shop = NULL;

    if (!dbd || tm_db_select(r, dbd, TM_Q_SHOP_GET, &res, 0, NULL)
                != APR_SUCCESS) {
        return tm_fail_db(r);
    }
    while (tm_db_next(r, dbd, res, &row)) {
        shop = json_object_new_object();
        json_object_object_add(shop, "name",
                               json_object_new_string(tm_db_col(dbd, row, 0)));
        json_object_object_add(shop, "currency",
                               json_object_new_string(tm_db_col(dbd, row, 1)));
        json_object_object_add(shop, "timezone",
                               json_object_new_string(tm_db_col(dbd, row, 2)));
        json_object_object_add(shop, "accepting_orders",
                               flag(tm_db_col(dbd, row, 3)));
    }
    if (!shop) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, TMLOGNO(00301)
                      "the shop row is missing: are the migrations applied?");
        return tm_fail_db(r);
    }
    return tm_send(r, HTTP_OK, shop, NULL);
}

int tm_menu_list(tm_ctx *c)
{
    request_rec *r = c->r;
    ap_dbd_t *dbd = tm_db_acquire(r);
    apr_dbd_results_t *res;
    apr_dbd_row_t *row;
    json_object *items;

    if (!dbd || tm_db_select(r, dbd, TM_Q_MENU_LIST, &res, 0, NULL)
                != APR_SUCCESS) {
        return tm_fail_db(r);
    }
    items = json_object_new_array();
    while (tm_db_next(r, dbd, res, &row)) {
        json_object *item = json_object_new_object();

        json_object_object_add(item, "id", json_object_new_int64(
                                   strtoll(tm_db_col(dbd, row, 0), NULL, 10)));
        json_object_object_add(item, "name",
                               json_object_new_string(tm_db_col(dbd, row, 1)));
        json_object_object_add(item, "description",
                               json_object_new_string(tm_db_col(dbd, row, 2)));
        json_object_object_add(item, "category",
                               json_object_new_string(tm_db_col(dbd, row, 3)));
        json_object_object_add(item, "price", money(tm_db_col(dbd, row, 4)));
        json_object_object_add(item, "available",
                               flag(tm_db_col(dbd, row, 5)));
        json_object_array_add(items, item);
    }
    return tm_send(r, HTTP_OK, items, NULL);
}
