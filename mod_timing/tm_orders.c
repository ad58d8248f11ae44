/*
 * tm_orders.c -- placing an order.
 *
 * The order, its lines, its first status-history row and its newOrder
 * event are written in one transaction; only after COMMIT is the event
 * sent to timing-eventd.  Prices and totals come from the menu in integer
 * minor units; a client never sends a price.
 */
#include "mod_timing.h"
#include "tm_orders.h"
#include "tm_db.h"
#include "tm_json.h"
#include "tm_money.h"
#include "tm_notify.h"
#include "tm_time.h"
#include "tm_valid.h"

#include "apr_base64.h"
#include "apr_hash.h"
#include "apr_sha1.h"
#include "apr_strings.h"
#include "http_protocol.h"

#include <stdlib.h>

APLOG_USE_MODULE(timing);

#define TM_TRACKING_BYTES   18              /* 24 base64url characters */
#define TM_TRACKING_COOKIE_AGE (7 * 86400)

typedef struct menu_price {
    const char *name;
    apr_int64_t price;
    int available;
} menu_price;

typedef struct order_line {
    const char *item_id;
    unsigned long menu_id;
    const char *menu_name;
    apr_int64_t price;
    int quantity;
    const char *note;
} order_line;

/* What an order object is built from. */
typedef struct order_view {
    apr_int64_t id, pickup_number, version, total;
    const char *status, *name, *phone, *email, *note, *currency;
    const char *created_at, *updated_at;        /* database text */
    order_line *lines;
    int nlines;
} order_view;

static json_object *money(apr_int64_t minor)
{
    char buf[TM_MONEY_LEN];

    tm_money_format(minor, buf);
    return json_object_new_double_s(atof(buf), buf);
}

static json_object *time_json(const char *db)
{
    char iso[TM_ISO_LEN];

    return tm_time_iso_from_db(db, iso) == 0 ? json_object_new_string(iso)
                                             : NULL;
}

/* The order object of API.md, as staff (and the creator) see it. */
static json_object *order_json(const order_view *o)
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
    json_object_object_add(order, "status",
                           json_object_new_string(o->status));
    json_object_object_add(customer, "name",
                           json_object_new_string(o->name));
    json_object_object_add(customer, "phone",
                           tm_json_string_or_null(o->phone));
    json_object_object_add(customer, "email",
                           tm_json_string_or_null(o->email));
    json_object_object_add(order, "customer_info", customer);
    for (i = 0; i < o->nlines; i++) {
        const order_line *l = &o->lines[i];
        json_object *item = json_object_new_object();

        json_object_object_add(item, "id",
                               json_object_new_int64(apr_atoi64(l->item_id)));
        json_object_object_add(item, "menu_id",
                               json_object_new_int64((int64_t)l->menu_id));
        json_object_object_add(item, "menu_name",
                               json_object_new_string(l->menu_name));
        json_object_object_add(item, "price", money(l->price));
        json_object_object_add(item, "quantity",
                               json_object_new_int(l->quantity));
        json_object_object_add(item, "note", tm_json_string_or_null(l->note));
        json_object_object_add(item, "subtotal",
                               money(l->price * l->quantity));
        json_object_array_add(items, item);
    }
    json_object_object_add(order, "items", items);
    json_object_object_add(order, "total", money(o->total));
    json_object_object_add(order, "currency",
                           json_object_new_string(o->currency));
    json_object_object_add(order, "note", tm_json_string_or_null(o->note));
    json_object_object_add(order, "created_at", time_json(o->created_at));
    json_object_object_add(order, "updated_at", time_json(o->updated_at));
    return order;
}

/* The menu by id, as text keys. */
static apr_hash_t *load_menu(request_rec *r, ap_dbd_t *dbd)
{
    apr_hash_t *menu = apr_hash_make(r->pool);
    apr_dbd_results_t *res;
    apr_dbd_row_t *row;

    if (tm_db_select(r, dbd, TM_Q_MENU_PRICES, &res, 0, NULL)
        != APR_SUCCESS) {
        return NULL;
    }
    while (tm_db_next(r, dbd, res, &row)) {
        menu_price *m = apr_palloc(r->pool, sizeof *m);

        m->name = apr_pstrdup(r->pool, tm_db_col(dbd, row, 1));
        m->price = apr_atoi64(tm_db_col(dbd, row, 2));
        m->available = tm_db_col(dbd, row, 3)[0] == '1';
        apr_hash_set(menu, apr_pstrdup(r->pool, tm_db_col(dbd, row, 0)),
                     APR_HASH_KEY_STRING, m);
    }
    return menu;
}

/* A fresh tracking token and the hex SHA-1 the database keeps of it. */
static apr_status_t tracking_token(apr_pool_t *p, const char **token,
                                   const char **hash_hex)
{
    unsigned char raw[TM_TRACKING_BYTES], digest[APR_SHA1_DIGESTSIZE];
    char *b64 = apr_palloc(p, apr_base64_encode_len(sizeof raw));
    char *hex = apr_palloc(p, 2 * sizeof digest + 1);
    apr_sha1_ctx_t sha;
    int i;

    if (apr_generate_random_bytes(raw, sizeof raw) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    apr_base64_encode(b64, (const char *)raw, sizeof raw);
    for (i = 0; b64[i]; i++) {          /* base64url: safe in URLs */
        b64[i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : b64[i];
    }
    apr_sha1_init(&sha);
    apr_sha1_update(&sha, b64, (unsigned int)strlen(b64));
    apr_sha1_final(digest, &sha);
    for (i = 0; i < APR_SHA1_DIGESTSIZE; i++) {
        apr_snprintf(hex + 2 * i, 3, "%02x", digest[i]);
    }
    *token = b64;
    *hash_hex = hex;
    return APR_SUCCESS;
}

static const char *i64(apr_pool_t *p, apr_int64_t v)
{
    return apr_psprintf(p, "%" APR_INT64_T_FMT, v);
}

/* Everything inside the transaction; returns an HTTP status to answer
 * with an envelope, or OK with *o and *event_id filled. */
static int write_order(tm_ctx *c, ap_dbd_t *dbd, const tm_order_input *in,
                       order_view *o, const char *tracking_hash,
                       apr_int64_t *event_id, const char **epoch,
                       const char **message_text)
{
    request_rec *r = c->r;
    apr_pool_t *p = r->pool;
    apr_dbd_results_t *res;
    apr_dbd_row_t *row;
    const char *now, *shop_date = NULL, *v, *args[13];
    json_object *message;
    apr_status_t rv;
    int accepting = 0, i;

    now = tm_db_value(r, dbd, TM_Q_NOW, 0, NULL, &rv);
    if (!now) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    args[0] = now;
    if (tm_db_select(r, dbd, TM_Q_SHOP_FOR_ORDER, &res, 1, args)
        != APR_SUCCESS) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    while (tm_db_next(r, dbd, res, &row)) {
        v = tm_db_col(dbd, row, 0);
        shop_date = v ? apr_pstrdup(p, v) : NULL;
        o->currency = apr_pstrdup(p, tm_db_col(dbd, row, 1));
        accepting = tm_db_col(dbd, row, 2)[0] == '1';
        *epoch = apr_pstrdup(p, tm_db_col(dbd, row, 3));
    }
    if (!shop_date) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, TMLOGNO(00501)
                      "cannot compute the shop's date: is the shop's "
                      "timezone valid and are MariaDB's time zone tables "
                      "loaded (mariadb-tzinfo-to-sql)?");
        return HTTP_SERVICE_UNAVAILABLE;
    }
    if (!accepting) {
        return HTTP_CONFLICT;
    }

    args[0] = shop_date;
    if (tm_db_exec(r, dbd, TM_Q_PICKUP_NEXT, NULL, 1, args) != APR_SUCCESS
        || !(v = tm_db_value(r, dbd, TM_Q_LAST_ID, 0, NULL, &rv))) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    o->pickup_number = apr_atoi64(v);

    args[0] = shop_date;
    args[1] = i64(p, o->pickup_number);
    args[2] = in->name;
    args[3] = in->phone;
    args[4] = in->email;
    args[5] = in->note;
    args[6] = i64(p, o->total);
    args[7] = o->currency;
    args[8] = c->who ? c->who->user_id : NULL;
    args[9] = tracking_hash;
    args[10] = now;
    args[11] = now;
    if (tm_db_exec(r, dbd, TM_Q_ORDER_INSERT, NULL, 12, args) != APR_SUCCESS
        || !(v = tm_db_value(r, dbd, TM_Q_LAST_ID, 0, NULL, &rv))) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    o->id = apr_atoi64(v);

    for (i = 0; i < o->nlines; i++) {
        const order_line *l = &o->lines[i];

        args[0] = i64(p, o->id);
        args[1] = apr_itoa(p, i + 1);
        args[2] = apr_psprintf(p, "%lu", l->menu_id);
        args[3] = l->menu_name;
        args[4] = i64(p, l->price);
        args[5] = apr_itoa(p, l->quantity);
        args[6] = l->note;
        if (tm_db_exec(r, dbd, TM_Q_ITEM_INSERT, NULL, 7, args)
            != APR_SUCCESS) {
            return HTTP_SERVICE_UNAVAILABLE;
        }
    }
    args[0] = i64(p, o->id);
    if (tm_db_select(r, dbd, TM_Q_ITEM_IDS, &res, 1, args) != APR_SUCCESS) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    for (i = 0; tm_db_next(r, dbd, res, &row); i++) {
        if (i < o->nlines) {
            o->lines[i].item_id = apr_pstrdup(p, tm_db_col(dbd, row, 0));
        }
    }
    if (i != o->nlines) {
        return HTTP_SERVICE_UNAVAILABLE;
    }

    args[0] = i64(p, o->id);
    args[1] = NULL;
    args[2] = "pending";
    args[3] = c->who ? c->who->user_id : NULL;
    args[4] = NULL;
    args[5] = now;
    if (tm_db_exec(r, dbd, TM_Q_HISTORY_INSERT, NULL, 6, args)
        != APR_SUCCESS) {
        return HTTP_SERVICE_UNAVAILABLE;
    }

    o->created_at = o->updated_at = now;
    message = tm_json_object(p);
    json_object_object_add(message, "type",
                           json_object_new_string("newOrder"));
    json_object_object_add(message, "order", order_json(o));
    *message_text = json_object_to_json_string_ext(
        message, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    args[0] = "newOrder";
    args[1] = i64(p, o->id);
    args[2] = *message_text;
    args[3] = NULL;
    args[4] = now;
    if (tm_db_exec(r, dbd, TM_Q_EVENT_INSERT, NULL, 5, args) != APR_SUCCESS
        || !(v = tm_db_value(r, dbd, TM_Q_LAST_ID, 0, NULL, &rv))) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    *event_id = apr_atoi64(v);
    return OK;
}

int tm_orders_create(tm_ctx *c)
{
    request_rec *r = c->r;
    json_object *body = tm_json_body(r, c->body, c->body_len);
    json_object *answer, *staff;
    const char *token, *hash, *epoch = NULL, *message_text = NULL;
    apr_int64_t event_id = 0;
    order_view o = { 0 };
    tm_order_input in;
    tm_problems pr;
    apr_hash_t *menu;
    ap_dbd_t *dbd;
    tm_txn *txn;
    int i, status;

    if (!body) {
        return OK;
    }
    tm_problems_init(&pr, r->pool);
    tm_valid_order(&pr, body, &in);
    if (pr.list->nelts) {
        return tm_fail_problems(r, &pr);
    }
    dbd = tm_db_acquire(r);
    if (!dbd || !(menu = load_menu(r, dbd))) {
        return tm_fail_db(r);
    }
    o.lines = apr_pcalloc(r->pool, sizeof(order_line) * in.nlines);
    o.nlines = in.nlines;
    for (i = 0; i < in.nlines; i++) {
        const tm_order_line *l = &in.lines[i];
        menu_price *m = apr_hash_get(menu, apr_psprintf(r->pool, "%lu",
                                                        l->menu_id),
                                     APR_HASH_KEY_STRING);

        if (!m || !m->available) {
            tm_problem_add(&pr, apr_psprintf(r->pool, "items[%d].menu_id", i),
                           m ? "is not available now" : "is not on the menu");
            continue;
        }
        o.lines[i] = (order_line){ NULL, l->menu_id, m->name, m->price,
                                   l->quantity, l->note };
        o.total += m->price * l->quantity;
    }
    if (pr.list->nelts) {
        return tm_fail_problems(r, &pr);
    }
    o.version = 1;
    o.status = "pending";
    o.name = in.name;
    o.phone = in.phone;
    o.email = in.email;
    o.note = in.note;
    if (tracking_token(r->pool, &token, &hash) != APR_SUCCESS) {
        return tm_fail(r, HTTP_SERVICE_UNAVAILABLE, "unavailable",
                       "No random bytes for a tracking token; try again.");
    }

    if (tm_db_begin(r, dbd, &txn) != APR_SUCCESS) {
        return tm_fail_db(r);
    }
    status = write_order(c, dbd, &in, &o, hash, &event_id, &epoch,
                         &message_text);
    if (status != OK) {
        tm_db_rollback(txn);
        if (status == HTTP_CONFLICT) {
            return tm_fail(r, HTTP_CONFLICT, "shop_closed",
                           "The shop is not taking orders right now.");
        }
        return tm_fail_db(r);
    }
    if (tm_db_commit(txn) != APR_SUCCESS) {
        return tm_fail_db(r);
    }

    /* Committed: the order exists whatever happens to the notification. */
    staff = tm_json_object(r->pool);
    json_object_object_add(staff, "type", json_object_new_string("newOrder"));
    json_object_object_add(staff, "event_id", json_object_new_int64(event_id));
    json_object_object_add(staff, "order", order_json(&o));
    tm_notify_event(r, c->conf->event_socket, epoch, event_id, o.id,
                    "newOrder", staff, NULL);

    answer = order_json(&o);
    json_object_object_add(answer, "tracking_token",
                           json_object_new_string(token));
    apr_table_setn(r->headers_out, "Location",
                   apr_psprintf(r->pool, "/api/orders/%" APR_INT64_T_FMT
                                "/status", o.id));
    apr_table_addn(r->err_headers_out, "Set-Cookie",
                   apr_psprintf(r->pool, "timing_track_%" APR_INT64_T_FMT
                                "=%s; Path=/; Max-Age=%d; HttpOnly; "
                                "SameSite=Lax", o.id, token,
                                TM_TRACKING_COOKIE_AGE));
    (void)message_text;
    return tm_send(r, HTTP_CREATED, answer, NULL);
}
