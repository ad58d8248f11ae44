/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tm_customer_orders.h -- an order as its customer reaches it: its status
 * (by token, tracking token or tracking cookie), the customer's own list,
 * and cancelling while it is still pending.
 */
#ifndef TM_CUSTOMER_ORDERS_H
#define TM_CUSTOMER_ORDERS_H

#include "mod_timing.h"

int tm_orders_status(tm_ctx *c);        /* GET /api/orders/:id/status */
int tm_orders_mine(tm_ctx *c);          /* GET /api/orders */
int tm_orders_cancel(tm_ctx *c);        /* POST /api/orders/:id/cancel */

#endif /* TM_CUSTOMER_ORDERS_H */
