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

#endif /* TM_QUERY_H */
