/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tm_order_http.h -- orders as the API writes and reads them over HTTP:
 * the order object (masked for customers), pages of orders with their
 * cursors, an order's status history, its ETag and If-Match, and the 404
 * every hidden or missing order answers.
 *
 * Reading and writing the database is tm_order_store.h's; the handlers
 * (tm_admin_orders.c, tm_customer_orders.c, tm_orders.c) use both.
 */
#ifndef TM_ORDER_HTTP_H
#define TM_ORDER_HTTP_H

#include "mod_timing.h"
#include "tm_order_store.h"
#include <json.h>

/* The order object; masked hides phone and e-mail (customers' view). */
json_object *tm_order_json(apr_pool_t *p, const tm_order *o, int masked);

/* The status history as the API lists it (tm_order_step items). */
json_object *tm_order_history_json(apr_pool_t *p,
                                   const apr_array_header_t *steps);

/* Validates ?limit= (1..max_limit, dflt when absent) and ?cursor=;
 * answers 422 itself and returns 0. */
int tm_page_params(tm_ctx *c, long max_limit, long dflt, long *limit,
                   apr_int64_t *before);

/* The "below this id" argument of a page query: the cursor's id, or
 * above every id for the first page (before 0). */
const char *tm_page_before(apr_pool_t *p, apr_int64_t before);

/* Answers a page of orders (tm_order *) with its meta; masked for
 * customers.  orders holds up to limit + 1: the extra one, never shown,
 * is how a next page is known to exist. */
int tm_send_order_page(request_rec *r, apr_array_header_t *orders,
                       int masked, long limit);

/* ETag: "<version>", on the answer about o. */
void tm_order_set_etag(request_rec *r, const tm_order *o);

/* The request's If-Match against version: 1 when it matches (or there is
 * none), 0 when it does not, -1 when malformed. */
int tm_order_if_match(request_rec *r, apr_int64_t version);

/* 404 not_found: a missing order and one the caller may not see answer
 * alike, so ids cannot be probed. */
int tm_order_not_found(request_rec *r);

#endif /* TM_ORDER_HTTP_H */
