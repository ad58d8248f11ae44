/*
 * tm_orders.h -- orders: placing one (one transaction with its items, its
 * first history row and its newOrder event), and the order object.
 */
#ifndef TM_ORDERS_H
#define TM_ORDERS_H

#include "mod_timing.h"

/* POST /api/orders */
int tm_orders_create(tm_ctx *c);

#endif /* TM_ORDERS_H */
