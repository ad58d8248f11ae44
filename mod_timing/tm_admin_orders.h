/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tm_admin_orders.h -- the staff's side of orders: the board's list, one
 * order with its history, and status changes.
 */
#ifndef TM_ADMIN_ORDERS_H
#define TM_ADMIN_ORDERS_H

#include "mod_timing.h"

int tm_admin_orders_list(tm_ctx *c);    /* GET /api/admin/orders */
int tm_admin_orders_get(tm_ctx *c);     /* GET /api/admin/orders/:id */
int tm_admin_orders_status(tm_ctx *c);  /* PUT /api/admin/orders/:id/status */

#endif /* TM_ADMIN_ORDERS_H */
