/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tm_query.h -- the query string, decoded strictly: a bad percent escape,
 * a NUL or invalid UTF-8 refuses the whole request (400) rather than
 * reaching a handler half-decoded.
 */
#ifndef TM_QUERY_H
#define TM_QUERY_H

#include "apr_pools.h"
#include "apr_tables.h"

/* Parses args ("a=1&b=x+y", or NULL) into a new table in p.  Returns
 * APR_SUCCESS, or APR_EINVAL with *out untouched. */
apr_status_t tm_query_parse(apr_pool_t *p, const char *args,
                            apr_table_t **out);

/* Opaque page cursors: an id, base64url-wrapped so clients do not build
 * them.  decode returns 1 with *id set, 0 when the cursor is not one. */
const char *tm_cursor_encode(apr_pool_t *p, apr_int64_t id);
int tm_cursor_decode(apr_pool_t *p, const char *cursor, apr_int64_t *id);

/* An integer query parameter in [min, max]: 1 with *out set (or dflt when
 * absent), 0 when present but not such an integer. */
int tm_query_int(apr_table_t *query, const char *name, long min, long max,
                 long dflt, long *out);

#endif /* TM_QUERY_H */
