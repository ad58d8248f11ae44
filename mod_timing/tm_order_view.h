/*
 * tm_order_view.h -- orders as they are read back: loading one or a page
 * of them with their lines, and the order object of API.md (masked for
 * customers).
 */
#ifndef TM_ORDER_VIEW_H
#define TM_ORDER_VIEW_H

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

/* The order object; masked hides phone and e-mail (customers' view). */
json_object *tm_order_json(apr_pool_t *p, const tm_order *o, int masked);

/* Runs q (one of the order-with-items queries: ORDER_GET,
 * ORDER_GET_LOCKED, ORDERS_PAGE, ORDERS_OF_USER) and collects the orders
 * in the order of the rows.  Returns an error when the query failed. */
apr_status_t tm_orders_read(request_rec *r, ap_dbd_t *dbd, tm_query_id q,
                            int nargs, const char **args,
                            apr_array_header_t **orders);

/* One order by id, or *out NULL when there is none. */
apr_status_t tm_order_load(request_rec *r, ap_dbd_t *dbd, const char *id,
                           int lock, tm_order **out);

#endif /* TM_ORDER_VIEW_H */
