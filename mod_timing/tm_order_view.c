/*
 * tm_order_view.c -- reading orders back and writing the order object.
 *
 * Every order query joins the lines, so a page of orders is one query:
 * rows come ordered by order, then line, and are folded here.
 */
#include "mod_timing.h"
#include "tm_order_view.h"
#include "tm_db.h"
#include "tm_mask.h"
#include "tm_json.h"
#include "tm_time.h"

#include "apr_strings.h"

#include <stdlib.h>

APLOG_USE_MODULE(timing);

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

static const char *copy_text(apr_pool_t *p, const char *s)
{
    return s ? apr_pstrdup(p, s) : NULL;
}

apr_status_t tm_orders_read(request_rec *r, ap_dbd_t *dbd, tm_query_id q,
                            int nargs, const char **args,
                            apr_array_header_t **out)
{
    apr_pool_t *p = r->pool;
    apr_array_header_t *orders = apr_array_make(p, 8, sizeof(tm_order *));
    apr_array_header_t *items = NULL;
    apr_dbd_results_t *res;
    apr_dbd_row_t *row;
    tm_order *o = NULL;

    if (tm_db_select(r, dbd, q, &res, nargs, args) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    while (tm_db_next(r, dbd, res, &row)) {
        apr_int64_t id = apr_atoi64(tm_db_col(dbd, row, 0));
        tm_item *it;

        if (!o || o->id != id) {
            if (o) {
                o->items = (tm_item *)items->elts;
                o->nitems = items->nelts;
            }
            o = apr_pcalloc(p, sizeof *o);
            o->id = id;
            o->pickup_number = apr_atoi64(tm_db_col(dbd, row, 1));
            o->version = apr_atoi64(tm_db_col(dbd, row, 2));
            o->status = copy_text(p, tm_db_col(dbd, row, 3));
            o->name = copy_text(p, tm_db_col(dbd, row, 4));
            o->phone = copy_text(p, tm_db_col(dbd, row, 5));
            o->email = copy_text(p, tm_db_col(dbd, row, 6));
            o->note = copy_text(p, tm_db_col(dbd, row, 7));
            o->total = apr_atoi64(tm_db_col(dbd, row, 8));
            o->currency = copy_text(p, tm_db_col(dbd, row, 9));
            o->user_id = copy_text(p, tm_db_col(dbd, row, 10));
            o->tracking_hash = copy_text(p, tm_db_col(dbd, row, 11));
            o->created_at = copy_text(p, tm_db_col(dbd, row, 12));
            o->updated_at = copy_text(p, tm_db_col(dbd, row, 13));
            *(tm_order **)apr_array_push(orders) = o;
            items = apr_array_make(p, 4, sizeof(tm_item));
        }
        it = apr_array_push(items);
        it->id = apr_atoi64(tm_db_col(dbd, row, 14));
        it->menu_id = strtoul(tm_db_col(dbd, row, 15), NULL, 10);
        it->menu_name = copy_text(p, tm_db_col(dbd, row, 16));
        it->price = apr_atoi64(tm_db_col(dbd, row, 17));
        it->quantity = atoi(tm_db_col(dbd, row, 18));
        it->note = copy_text(p, tm_db_col(dbd, row, 19));
    }
    if (o) {
        o->items = (tm_item *)items->elts;
        o->nitems = items->nelts;
    }
    *out = orders;
    return APR_SUCCESS;
}

apr_status_t tm_order_load(request_rec *r, ap_dbd_t *dbd, const char *id,
                           int lock, tm_order **out)
{
    const char *args[1] = { id };
    apr_array_header_t *orders;
    apr_status_t rv = tm_orders_read(r, dbd, lock ? TM_Q_ORDER_GET_LOCKED
                                                  : TM_Q_ORDER_GET,
                                     1, args, &orders);

    *out = rv == APR_SUCCESS && orders->nelts
           ? APR_ARRAY_IDX(orders, 0, tm_order *) : NULL;
    return rv;
}
