/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tm_orders.h -- placing an order (one transaction with its items, its
 * first history row and its newOrder event).  Reading and changing
 * orders are tm_customer_orders.h's and tm_admin_orders.h's.
 */
#ifndef TM_ORDERS_H
#define TM_ORDERS_H

#include "mod_timing.h"

/* POST /api/orders */
int tm_orders_create(tm_ctx *c);

#endif /* TM_ORDERS_H */
