/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tm_order_store.c -- orders in the database (see tm_order_store.h).
 *
 * Every order query joins the lines, so a page of orders is one query:
 * rows come ordered by order, then line, and are folded here.  The event
 * row stores the messages without their event_id (it is the row's own
 * id); the id is added when the event is sent and when the log is read,
 * so both carry exactly the same message.
 */
#include "mod_timing.h"
#include "tm_order_store.h"
#include "tm_db.h"
#include "tm_json.h"
#include "tm_notify.h"
#include "tm_order_http.h"

#include "apr_strings.h"

#include <stdlib.h>

APLOG_USE_MODULE(timing);

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

static apr_status_t load(request_rec *r, ap_dbd_t *dbd, const char *id,
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

apr_status_t tm_order_load(request_rec *r, ap_dbd_t *dbd, const char *id,
                           tm_order **out)
{
    return load(r, dbd, id, 0, out);
}

static const char *text_of(json_object *o)
{
    return o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN
                                              | JSON_C_TO_STRING_NOSLASHESCAPE)
             : NULL;
}

/* The event row of an announcement whose messages are built; sets its
 * event_id.  In the transaction of the change it announces. */
static apr_status_t event_insert(request_rec *r, ap_dbd_t *dbd,
                                 const char *now, tm_announcement *a)
{
    const char *args[5], *id;
    apr_status_t rv;

    args[0] = a->type;
    args[1] = apr_psprintf(r->pool, "%" APR_INT64_T_FMT, a->order_id);
    args[2] = text_of(a->staff);
    args[3] = text_of(a->customer);
    args[4] = now;
    if (tm_db_exec(r, dbd, TM_Q_EVENT_INSERT, NULL, 5, args) != APR_SUCCESS
        || !(id = tm_db_value(r, dbd, TM_Q_LAST_ID, 0, NULL, &rv))) {
        return APR_EGENERAL;
    }
    a->event_id = apr_atoi64(id);
    return APR_SUCCESS;
}

/* One row of an order's status history (from NULL: placed). */
static apr_status_t history_insert(request_rec *r, ap_dbd_t *dbd,
                                   const char *id, const char *from,
                                   const char *to, const char *by,
                                   const char *reason, const char *now)
{
    const char *args[6] = { id, from, to, by, reason, now };

    return tm_db_exec(r, dbd, TM_Q_HISTORY_INSERT, NULL, 6, args);
}

static json_object *status_message(apr_pool_t *p, const tm_order *o,
                                   const char *previous, int masked)
{
    json_object *m = tm_json_object(p);

    json_object_object_add(m, "type",
                           json_object_new_string("orderStatusUpdate"));
    json_object_object_add(m, "order", tm_order_json(p, o, masked));
    json_object_object_add(m, "status", json_object_new_string(o->status));
    json_object_object_add(m, "previous_status",
                           json_object_new_string(previous));
    return m;
}

/* Inside the transaction that locked o: moves it to `to`, records who
 * and why, writes the event, and updates o to match. */
static apr_status_t change(request_rec *r, ap_dbd_t *dbd, tm_order *o,
                           const char *to, const char *by_user,
                           const char *reason, tm_announcement *out)
{
    apr_pool_t *p = r->pool;
    apr_dbd_results_t *res;
    apr_dbd_row_t *row;
    const char *now = NULL, *previous = o->status, *args[3];
    const char *id = apr_psprintf(p, "%" APR_INT64_T_FMT, o->id);

    if (tm_db_select(r, dbd, TM_Q_NOW_EPOCH, &res, 0, NULL) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    while (tm_db_next(r, dbd, res, &row)) {
        now = apr_pstrdup(p, tm_db_col(dbd, row, 0));
        out->epoch = apr_pstrdup(p, tm_db_col(dbd, row, 1));
    }
    if (!now) {
        return APR_EGENERAL;
    }
    args[0] = to;
    args[1] = now;
    args[2] = id;
    if (tm_db_exec(r, dbd, TM_Q_ORDER_SET_STATUS, NULL, 3, args)
        != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    if (history_insert(r, dbd, id, previous, to, by_user, reason, now)
        != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    o->status = to;
    o->version++;
    o->updated_at = now;
    out->order_id = o->id;
    out->type = "orderStatusUpdate";
    out->staff = status_message(p, o, previous, 0);
    out->customer = status_message(p, o, previous, 1);
    return event_insert(r, dbd, now, out);
}

apr_status_t tm_order_update(request_rec *r, ap_dbd_t *dbd, const char *id,
                             tm_order_decide decide, void *baton,
                             const char *by, const char *reason,
                             tm_order **o, int *changed, tm_announcement *a)
{
    const char *to;
    tm_txn *txn;

    *o = NULL;
    *changed = 0;
    if (tm_db_begin(r, dbd, &txn) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    /* One way out for every outcome but a change: the lock goes with the
     * rollback. */
    if (load(r, dbd, id, 1, o) != APR_SUCCESS) {
        *o = NULL;
        tm_db_rollback(txn);
        return APR_EGENERAL;
    }
    if (!*o || !(to = decide(baton, *o))) {
        tm_db_rollback(txn);
        return APR_SUCCESS;
    }
    if (change(r, dbd, *o, to, by, reason, a) != APR_SUCCESS
        || tm_db_commit(txn) != APR_SUCCESS) {
        tm_db_rollback(txn);
        return APR_EGENERAL;
    }
    *changed = 1;
    return APR_SUCCESS;
}

const char *tm_order_last_event(request_rec *r, ap_dbd_t *dbd,
                                const char *id, apr_status_t *rv)
{
    const char *args[1] = { id };

    return tm_db_value(r, dbd, TM_Q_ORDER_LAST_EVENT, 1, args, rv);
}

apr_status_t tm_order_history(request_rec *r, ap_dbd_t *dbd, const char *id,
                              apr_array_header_t **steps)
{
    const char *args[1] = { id };
    apr_dbd_results_t *res;
    apr_dbd_row_t *row;

    if (tm_db_select(r, dbd, TM_Q_ORDER_HISTORY, &res, 1, args)
        != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    *steps = apr_array_make(r->pool, 4, sizeof(tm_order_step));
    while (tm_db_next(r, dbd, res, &row)) {
        tm_order_step *s = apr_array_push(*steps);

        s->from = copy_text(r->pool, tm_db_col(dbd, row, 0));
        s->to = copy_text(r->pool, tm_db_col(dbd, row, 1));
        s->by_id = copy_text(r->pool, tm_db_col(dbd, row, 2));
        s->by_name = copy_text(r->pool, tm_db_col(dbd, row, 3));
        s->reason = copy_text(r->pool, tm_db_col(dbd, row, 4));
        s->at = copy_text(r->pool, tm_db_col(dbd, row, 5));
    }
    return APR_SUCCESS;
}

static const char *i64(apr_pool_t *p, apr_int64_t v)
{
    return apr_psprintf(p, "%" APR_INT64_T_FMT, v);
}

/* The day's pickup number is every order's hot spot: committed on its
 * own, its counter row is locked for one statement, not for the whole
 * order.  (An order that then fails leaves a gap in the day's numbers,
 * which harms nobody.) */
int tm_order_reserve(request_rec *r, ap_dbd_t *dbd, tm_order *o,
                     const char **now, const char **shop_date,
                     const char **epoch)
{
    apr_pool_t *p = r->pool;
    apr_dbd_results_t *res;
    apr_dbd_row_t *row;
    const char *v, *args[1];
    apr_status_t rv;
    int accepting = 0;

    *now = *shop_date = *epoch = NULL;
    if (tm_db_select(r, dbd, TM_Q_SHOP_FOR_ORDER, &res, 0, NULL)
        != APR_SUCCESS) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    while (tm_db_next(r, dbd, res, &row)) {
        *now = apr_pstrdup(p, tm_db_col(dbd, row, 0));
        v = tm_db_col(dbd, row, 1);
        *shop_date = v ? apr_pstrdup(p, v) : NULL;
        o->currency = apr_pstrdup(p, tm_db_col(dbd, row, 2));
        accepting = tm_db_col(dbd, row, 3)[0] == '1';
        *epoch = apr_pstrdup(p, tm_db_col(dbd, row, 4));
    }
    if (!*shop_date) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, TMLOGNO(00501)
                      "cannot compute the shop's date: is the shop's "
                      "timezone valid and are MariaDB's time zone tables "
                      "loaded (mariadb-tzinfo-to-sql)?");
        return HTTP_SERVICE_UNAVAILABLE;
    }
    if (!accepting) {
        return HTTP_CONFLICT;
    }
    args[0] = *shop_date;
    if (tm_db_exec(r, dbd, TM_Q_PICKUP_NEXT, NULL, 1, args) != APR_SUCCESS
        || !(v = tm_db_value(r, dbd, TM_Q_LAST_ID, 0, NULL, &rv))) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    o->pickup_number = apr_atoi64(v);
    return OK;
}

apr_status_t tm_order_insert(request_rec *r, ap_dbd_t *dbd, tm_order *o,
                             const char *tracking_hash, const char *now,
                             const char *shop_date, tm_announcement *a)
{
    apr_pool_t *p = r->pool;
    apr_dbd_results_t *res;
    apr_dbd_row_t *row;
    const char *v, *args[12];
    apr_array_header_t *ids;
    apr_status_t rv;
    int i;

    args[0] = shop_date;
    args[1] = i64(p, o->pickup_number);
    args[2] = o->name;
    args[3] = o->phone;
    args[4] = o->email;
    args[5] = o->note;
    args[6] = i64(p, o->total);
    args[7] = o->currency;
    args[8] = o->user_id;
    args[9] = tracking_hash;
    args[10] = now;
    args[11] = now;
    if (tm_db_exec(r, dbd, TM_Q_ORDER_INSERT, NULL, 12, args) != APR_SUCCESS
        || !(v = tm_db_value(r, dbd, TM_Q_LAST_ID, 0, NULL, &rv))) {
        return APR_EGENERAL;
    }
    o->id = apr_atoi64(v);

    for (i = 0; i < o->nitems; i++) {
        const tm_item *l = &o->items[i];

        args[0] = i64(p, o->id);
        args[1] = apr_itoa(p, i + 1);
        args[2] = apr_psprintf(p, "%lu", l->menu_id);
        args[3] = l->menu_name;
        args[4] = i64(p, l->price);
        args[5] = apr_itoa(p, l->quantity);
        args[6] = l->note;
        if (tm_db_exec(r, dbd, TM_Q_ITEM_INSERT, NULL, 7, args)
            != APR_SUCCESS) {
            return APR_EGENERAL;
        }
    }
    args[0] = i64(p, o->id);
    if (tm_db_select(r, dbd, TM_Q_ITEM_IDS, &res, 1, args) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    ids = apr_array_make(p, o->nitems, sizeof(apr_int64_t));
    while (tm_db_next(r, dbd, res, &row)) {
        *(apr_int64_t *)apr_array_push(ids) =
            apr_atoi64(tm_db_col(dbd, row, 0));
    }
    if (ids->nelts != o->nitems) {
        return APR_EGENERAL;
    }
    for (i = 0; i < o->nitems; i++) {
        o->items[i].id = APR_ARRAY_IDX(ids, i, apr_int64_t);
    }

    if (history_insert(r, dbd, i64(p, o->id), NULL, "pending", o->user_id,
                       NULL, now) != APR_SUCCESS) {
        return APR_EGENERAL;
    }

    o->created_at = o->updated_at = now;
    a->order_id = o->id;
    a->type = "newOrder";
    a->staff = tm_json_object(p);
    json_object_object_add(a->staff, "type",
                           json_object_new_string("newOrder"));
    json_object_object_add(a->staff, "order", tm_order_json(p, o, 0));
    a->customer = NULL;         /* newOrder is for staff only */
    return event_insert(r, dbd, now, a);
}

void tm_order_announce(request_rec *r, const tm_srv_conf *conf,
                       tm_announcement *a)
{
    json_object_object_add(a->staff, "event_id",
                           json_object_new_int64(a->event_id));
    if (a->customer) {
        json_object_object_add(a->customer, "event_id",
                               json_object_new_int64(a->event_id));
    }
    tm_notify_event(r, conf, a->epoch, a->event_id, a->order_id,
                    a->type, a->staff, a->customer);
}
