/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tm_mask.h -- what a customer sees of contact details: enough to know
 * them, not enough to read them off a shared screen.  Pure logic.
 */
#ifndef TM_MASK_H
#define TM_MASK_H

#include "apr_pools.h"

/* "0812345678" -> "081****678"; short numbers keep only the last two.
 * Counted in characters. */
const char *tm_mask_phone(apr_pool_t *p, const char *phone);
/* "somchai@example.com" -> "s***@example.com": the first character of
 * the local part and three asterisks, whatever its length. */
const char *tm_mask_email(apr_pool_t *p, const char *email);

#endif /* TM_MASK_H */
