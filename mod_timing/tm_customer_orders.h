/*
 * tm_customer_orders.h -- an order as its customer reaches it: its status
 * (by token, tracking token or tracking cookie), the customer's own list,
 * and cancelling while it is still pending.
 */
#ifndef TM_CUSTOMER_ORDERS_H
#define TM_CUSTOMER_ORDERS_H

#include "mod_timing.h"
#include "tm_order_view.h"

int tm_orders_status(tm_ctx *c);        /* GET /api/orders/:id/status */
int tm_orders_mine(tm_ctx *c);          /* GET /api/orders */
int tm_orders_cancel(tm_ctx *c);        /* POST /api/orders/:id/cancel */

/* Validates ?limit= and ?cursor=; answers 422 itself and returns 0. */
int tm_page_params(tm_ctx *c, long max_limit, long dflt, long *limit,
                   apr_int64_t *before);

/* Answers a page of orders (tm_order *) with its meta; masked for
 * customers.  orders holds up to limit + 1: the extra one, never shown,
 * is how a next page is known to exist. */
int tm_send_order_page(request_rec *r, apr_array_header_t *orders,
                       int masked, long limit);

#endif /* TM_CUSTOMER_ORDERS_H */
