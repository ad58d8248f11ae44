/* SPDX-License-Identifier: Apache-2.0 */
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
#include "tm_valid.h"

#include "apr_lib.h"
#include "apr_strings.h"
#include "http_protocol.h"

#include <stdlib.h>

APLOG_USE_MODULE(timing);

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

/* A menu row (id, name, description, category, price_minor, available). */
static json_object *item_json(ap_dbd_t *dbd, apr_dbd_row_t *row)
{
    json_object *item = json_object_new_object();

    json_object_object_add(item, "id", json_object_new_int64(
                               strtoll(tm_db_col(dbd, row, 0), NULL, 10)));
    json_object_object_add(item, "name",
                           json_object_new_string(tm_db_col(dbd, row, 1)));
    json_object_object_add(item, "description",
                           json_object_new_string(tm_db_col(dbd, row, 2)));
    json_object_object_add(item, "category",
                           json_object_new_string(tm_db_col(dbd, row, 3)));
    json_object_object_add(item, "price", tm_json_money(apr_atoi64(tm_db_col(dbd, row, 4))));
    json_object_object_add(item, "available", flag(tm_db_col(dbd, row, 5)));
    return item;
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
        json_object_array_add(items, item_json(dbd, row));
    }
    return tm_send_list(r, items);
}

static const tm_text_rule description_rule = { 0, 1000, 1, 0 };
static const tm_text_rule category_rule = { 0, 50, 0, 0 };

/* One menu item by id as JSON (NULL when missing); *rv on failure. */
static json_object *load_item(request_rec *r, ap_dbd_t *dbd, const char *id,
                              apr_status_t *rv)
{
    const char *args[1] = { id };
    apr_dbd_results_t *res;
    apr_dbd_row_t *row;
    json_object *item = NULL;

    *rv = tm_db_select(r, dbd, TM_Q_MENU_GET, &res, 1, args);
    while (*rv == APR_SUCCESS && tm_db_next(r, dbd, res, &row)) {
        item = item_json(dbd, row);
    }
    return item;
}

/* Reads the fields of a menu body into args (name, description,
 * category, price_minor, available: NULL when absent).  Returns 0 after
 * answering a bad body. */
static int menu_fields(tm_ctx *c, int creating, const char *args[5])
{
    request_rec *r = c->r;
    json_object *body = tm_json_body_object(r, c->body, c->body_len);
    apr_int64_t minor;
    tm_problems pr;
    int available;

    if (!body) {
        return 0;
    }
    tm_problems_init(&pr, r->pool);
    args[0] = tm_valid_text(&pr, body, "name", "name", &tm_rule_name,
                            creating);
    args[1] = tm_valid_text(&pr, body, "description", "description",
                            &description_rule, 0);
    args[2] = tm_valid_text(&pr, body, "category", "category",
                            &category_rule, 0);
    args[3] = tm_valid_price(&pr, body, "price", creating, &minor)
              ? apr_psprintf(r->pool, "%" APR_INT64_T_FMT, minor) : NULL;
    available = tm_valid_bool(&pr, body, "available");
    args[4] = available >= 0 ? (available ? "1" : "0") : NULL;
    if (!creating && !pr.list->nelts && !args[0] && !args[1] && !args[2]
        && !args[3] && !args[4]) {
        tm_problem_add(&pr, "", "give at least one of name, description, "
                       "category, price and available");
    }
    if (creating) {
        args[1] = args[1] ? args[1] : "";
        args[2] = args[2] ? args[2] : "";
        args[4] = args[4] ? args[4] : "1";
    }
    if (pr.list->nelts) {
        tm_fail_problems(r, &pr);
        return 0;
    }
    return 1;
}

int tm_menu_create(tm_ctx *c)
{
    request_rec *r = c->r;
    const char *args[5], *id;
    json_object *item;
    apr_status_t rv;
    ap_dbd_t *dbd;

    if (!menu_fields(c, 1, args)) {
        return OK;
    }
    dbd = tm_db_acquire(r);
    if (!dbd || tm_db_exec(r, dbd, TM_Q_MENU_INSERT, NULL, 5, args)
                != APR_SUCCESS
        || !(id = tm_db_value(r, dbd, TM_Q_LAST_ID, 0, NULL, &rv))
        || !(item = load_item(r, dbd, id, &rv))) {
        return tm_fail_db(r);
    }
    apr_table_setn(r->headers_out, "Location",
                   apr_pstrcat(r->pool, "/api/admin/menu/", id, NULL));
    return tm_send(r, HTTP_CREATED, item, NULL);
}

/* Applies MENU_UPDATE's six arguments to item :id and answers it. */
static int update_item(tm_ctx *c, const char *args[6])
{
    request_rec *r = c->r;
    json_object *item;
    apr_status_t rv;
    ap_dbd_t *dbd = tm_db_acquire(r);

    if (!dbd || tm_db_exec(r, dbd, TM_Q_MENU_UPDATE, NULL, 6, args)
                != APR_SUCCESS) {
        return tm_fail_db(r);
    }
    item = load_item(r, dbd, c->params[0], &rv);
    if (rv != APR_SUCCESS) {
        return tm_fail_db(r);
    }
    if (!item) {
        return tm_fail(r, HTTP_NOT_FOUND, "not_found", "No such menu item.");
    }
    return tm_send(r, HTTP_OK, item, NULL);
}

int tm_menu_update(tm_ctx *c)
{
    const char *args[6];

    if (!menu_fields(c, 0, args)) {
        return OK;
    }
    args[5] = c->params[0];
    return update_item(c, args);
}

/* Past orders keep the item (name and price are copied into them), so
 * deleting only takes it off sale. */
int tm_menu_delete(tm_ctx *c)
{
    const char *args[6] = { NULL, NULL, NULL, NULL, "0", c->params[0] };

    return update_item(c, args);
}

int tm_shop_update(tm_ctx *c)
{
    static const tm_text_rule zone_rule = { 1, 64, 0, 0 };
    request_rec *r = c->r;
    json_object *body = tm_json_body_object(r, c->body, c->body_len);
    const char *args[4], *known;
    tm_problems pr;
    ap_dbd_t *dbd;
    apr_status_t rv;
    int accepting;

    if (!body) {
        return OK;
    }
    tm_problems_init(&pr, r->pool);
    args[0] = tm_valid_text(&pr, body, "name", "name", &tm_rule_name, 0);
    args[1] = tm_valid_text(&pr, body, "currency", "currency",
                            &(tm_text_rule){ 3, 3, 0, 0 }, 0);
    if (args[1] && !(apr_isupper(args[1][0]) && apr_isupper(args[1][1])
                     && apr_isupper(args[1][2]))) {
        tm_problem_add(&pr, "currency", "must be an ISO 4217 code like THB");
    }
    args[2] = tm_valid_text(&pr, body, "timezone", "timezone", &zone_rule,
                            0);
    accepting = tm_valid_bool(&pr, body, "accepting_orders");
    args[3] = accepting >= 0 ? (accepting ? "1" : "0") : NULL;
    if (!pr.list->nelts && !args[0] && !args[1] && !args[2] && !args[3]) {
        tm_problem_add(&pr, "", "give at least one of name, currency, "
                       "timezone and accepting_orders");
    }
    dbd = tm_db_acquire(r);
    if (!dbd) {
        return tm_fail_db(r);
    }
    /* "SYSTEM" is whatever zone the database server runs in: not a
     * shop's zone, and it would move with the server. */
    if (args[2] && !strcasecmp(args[2], "SYSTEM")) {
        tm_problem_add(&pr, "timezone", "must name a zone (e.g. "
                       "Asia/Bangkok or +07:00), not SYSTEM");
    }
    else if (args[2]) {
        known = tm_db_value(r, dbd, TM_Q_TZ_KNOWN, 1, &args[2], &rv);
        if (rv != APR_SUCCESS) {
            return tm_fail_db(r);
        }
        if (!known || strcmp(known, "1")) {
            tm_problem_add(&pr, "timezone", "is not a time zone the "
                           "database knows (e.g. Asia/Bangkok)");
        }
    }
    if (pr.list->nelts) {
        return tm_fail_problems(r, &pr);
    }
    if (tm_db_exec(r, dbd, TM_Q_SHOP_UPDATE, NULL, 4, args) != APR_SUCCESS) {
        return tm_fail_db(r);
    }
    return tm_shop_get(c);
}
