/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tm_order_store.h -- orders in the database: reading one or a page of
 * them with their lines, a status change under a lock (the order row, its
 * history row and its event committed together), the status history,
 * placing a new order's rows, and announcing an event after COMMIT.
 *
 * No HTTP here: paging parameters, the order object, ETags and answers
 * are tm_order_http.h's; who may see an order is tm_access.h's; the
 * handlers (tm_orders.c, tm_admin_orders.c, tm_customer_orders.c) decide.
 */
#ifndef TM_ORDER_STORE_H
#define TM_ORDER_STORE_H

#include "mod_timing.h"
#include "tm_sql.h"
#include "apr_dbd.h"
#include "mod_dbd.h"
#include <json.h>

typedef struct tm_item {
    apr_int64_t id, price;
    unsigned long menu_id;
    int quantity;
    const char *menu_name, *note;
} tm_item;

typedef struct tm_order {
    apr_int64_t id, pickup_number, version, total;
    const char *status, *name, *phone, *email, *note, *currency;
    const char *created_at, *updated_at;        /* database text, UTC */
    const char *user_id;                        /* NULL: placed anonymously */
    const char *tracking_hash;                  /* upper-case hex SHA-1 */
    tm_item *items;
    int nitems;
} tm_order;

/* An event written with a change, sent to timing-eventd after COMMIT. */
typedef struct tm_announcement {
    const char *epoch;
    apr_int64_t event_id, order_id;
    const char *type;
    json_object *staff, *customer;  /* messages without event_id */
} tm_announcement;

/* One row of an order's status history; every text is database text. */
typedef struct tm_order_step {
    const char *from;               /* NULL: the order was placed */
    const char *to, *by_id, *by_name, *reason, *at;
} tm_order_step;

/* Runs q (one of the order-with-items queries: ORDER_GET,
 * ORDER_GET_LOCKED, ORDERS_PAGE, ORDERS_OF_USER, DAY_ORDERS) and collects
 * the orders in the order of the rows.  Returns an error when the query
 * failed. */
apr_status_t tm_orders_read(request_rec *r, ap_dbd_t *dbd, tm_query_id q,
                            int nargs, const char **args,
                            apr_array_header_t **orders);

/* One order by id, or *out NULL when there is none. */
apr_status_t tm_order_load(request_rec *r, ap_dbd_t *dbd, const char *id,
                           tm_order **out);

/* What a handler decides about an order held locked: the status to move
 * it to, or NULL to leave it as it is (the handler notes why in baton). */
typedef const char *(*tm_order_decide)(void *baton, const tm_order *o);

/* Loads order id locked in a transaction of its own and asks decide what
 * becomes of it.  A status named is written with its history row (by,
 * reason) and its event, and committed; *a is then filled for
 * tm_order_announce and *changed set.  Otherwise, and on every failure,
 * the transaction is rolled back.  *o is the order as it now stands, NULL
 * when there is none.  Returns an error when the database failed. */
apr_status_t tm_order_update(request_rec *r, ap_dbd_t *dbd, const char *id,
                             tm_order_decide decide, void *baton,
                             const char *by, const char *reason,
                             tm_order **o, int *changed, tm_announcement *a);

/* The id of the newest event about order id (its creation at first), or
 * NULL when it has none; *rv says whether the database answered. */
const char *tm_order_last_event(request_rec *r, ap_dbd_t *dbd,
                                const char *id, apr_status_t *rv);

/* The status history of order id, oldest first (tm_order_step). */
apr_status_t tm_order_history(request_rec *r, ap_dbd_t *dbd, const char *id,
                              apr_array_header_t **steps);

/* Before placing: the database's time, the shop's date and epoch, o's
 * currency, and the day's next pickup number in o, taken in a statement
 * of its own.  Returns OK, HTTP_CONFLICT (the shop takes no orders now)
 * or HTTP_SERVICE_UNAVAILABLE. */
int tm_order_reserve(request_rec *r, ap_dbd_t *dbd, tm_order *o,
                     const char **now, const char **shop_date,
                     const char **epoch);

/* Inside the caller's transaction: the order row (keeping only the hash
 * of its tracking token), its lines, its first history row and its
 * newOrder event.  Sets o->id, the lines' ids and o's times; fills a
 * (whose epoch the caller set) for tm_order_announce. */
apr_status_t tm_order_insert(request_rec *r, ap_dbd_t *dbd, tm_order *o,
                             const char *tracking_hash, const char *now,
                             const char *shop_date, tm_announcement *a);

/* After COMMIT: sends the event (with its event_id) to the daemon. */
void tm_order_announce(request_rec *r, const tm_srv_conf *conf,
                       tm_announcement *a);

#endif /* TM_ORDER_STORE_H */
