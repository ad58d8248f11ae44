/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tm_router.h -- the API's front door: which route a request takes, and
 * the checks every route shares, in the contract's order: route and
 * method (404, 405), credential (401, 403), input (413, 400), then the
 * route's own handler (415, 400, 422 and its answer).
 */
#ifndef TM_ROUTER_H
#define TM_ROUTER_H

#include "mod_timing.h"

#define TM_HANDLER      "timing-api"
#define TM_API_PREFIX   "/api/"

/* Who may call a route; a valid token is always welcome. */
typedef enum {
    TM_OPEN,                /* anyone */
    TM_TOKEN,               /* any valid token */
    TM_STAFF,               /* staff or admin */
    TM_ADMIN
} tm_access;

typedef struct tm_route {
    int method;             /* M_GET, M_POST, ... */
    const char *path;       /* below /api/, ":id" matches an id */
    tm_access access;
    tm_route_fn fn;
} tm_route;

/* Serves r (handler timing-api) from the route table; DECLINED for other
 * handlers. */
int tm_router_handle(request_rec *r, const tm_route *routes, size_t nroutes);

#endif /* TM_ROUTER_H */
