/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tm_addr.h -- which client addresses share one per-address allowance.
 * Pure logic (no httpd.h): the unit tests link it.
 */
#ifndef TM_ADDR_H
#define TM_ADDR_H

#include "apr_pools.h"

/* The key under which an address is counted: an IPv4 address as it is
 * (an IPv4-mapped IPv6 address as its IPv4 one); an IPv6 address by its
 * /64, as "2001:db8:1:2::/64".  Text that is no address comes back as it
 * is. */
const char *tm_addr_bucket(apr_pool_t *p, const char *ip);

#endif /* TM_ADDR_H */
