/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tm_access.h -- who may see an order, decided in one place for the REST
 * API (tm_customer_orders.c) and the WebSocket upgrade (tm_upgrade.c):
 * the staff test, the Cookie header reader, tracking tokens (their hash
 * and their comparison) and the sight decision itself.
 *
 * Pure logic on APR only, so the unit tests reach every branch.  Finding
 * the credentials in a request (query, subprotocol, header) and answering
 * a refusal are the callers' part; so is loading the order.
 */
#ifndef TM_ACCESS_H
#define TM_ACCESS_H

#include "apr_pools.h"

#include <string.h>

/* The tracking cookie of order N is named TM_TRACKING_COOKIE "N". */
#define TM_TRACKING_COOKIE      "timing_track_"

/* Tokens we give out are 24 characters: anything longer than this is
 * refused before it is hashed, so a client cannot make us hash megabytes. */
#define TM_TRACKING_TOKEN_MAX   128

typedef enum {
    TM_SEES_NOTHING = 0,    /* answered like a missing id */
    TM_SEES_AS_CUSTOMER,    /* contact details masked */
    TM_SEES_AS_STAFF
} tm_sight;

/* What a caller offers to see one order. */
typedef struct tm_sight_claim {
    const char *role, *user_id; /* a verified identity's; NULL: none */
    const char *tracking;       /* a tracking token offered outright */
    const char *cookie;         /* the order's tracking cookie, if sent */
    /* With an identity, only the identity counts: its tracking token and
     * cookie are not looked at.  (The WebSocket guard decides so; REST
     * lets a signed-in customer use a tracking token too.) */
    int identity_decides;
} tm_sight_claim;

/* 1 for a role that sees every order and the board: staff or admin.
 * Inline, so the token checks (tm_jwt.c) link without the rest. */
static inline int tm_role_is_staff(const char *role)
{
    return role && (!strcmp(role, "staff") || !strcmp(role, "admin"));
}

/* The value of cookie `name` in a Cookie header (name=value pairs split by
 * ';', optional whitespace around them, a value maybe in double quotes),
 * the first when it is sent twice; NULL when header is NULL or has no
 * such cookie. */
const char *tm_cookie_value(apr_pool_t *p, const char *header,
                            const char *name);

/* The SHA-1 of a tracking token, upper-case hex as MariaDB's HEX(): what
 * the orders table keeps instead of the token. */
const char *tm_tracking_hash(apr_pool_t *p, const char *token);

/* 1 when token hashes to hash (compared in constant time); 0 for a NULL,
 * empty or over-long token and for a NULL hash. */
int tm_tracking_matches(apr_pool_t *p, const char *hash, const char *token);

/* What claim may see of the order owned by owner (NULL: placed
 * anonymously) whose tracking token hashes to tracking_hash: staff see
 * all; its owner, its tracking token or its tracking cookie see it
 * masked. */
tm_sight tm_order_sight(apr_pool_t *p, const char *owner,
                        const char *tracking_hash,
                        const tm_sight_claim *claim);

#endif /* TM_ACCESS_H */
