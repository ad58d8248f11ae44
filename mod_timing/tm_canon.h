/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tm_canon.h -- one text for one JSON value, however the client wrote it,
 * and its SHA-256: what makes two request bodies the same request for an
 * Idempotency-Key.  Pure (no request), for the unit tests.
 */
#ifndef TM_CANON_H
#define TM_CANON_H

#include "apr_pools.h"
#include <json.h>

#define TM_CANON_HEX_LEN 64     /* SHA-256 in hex digits */

/* v as compact JSON with every object's names in byte order, a number
 * that is an integer written as one (2.0, 2e0 and 20e-1 are 2), and
 * strings as json-c escapes them (so "\u0e01" and "ก" are one string).
 * A name given twice counts once, as json-c keeps the last.  In p. */
const char *tm_canon_text(apr_pool_t *p, json_object *v);

/* SHA-256 of tm_canon_text(v) in upper-case hex (as MariaDB's HEX()
 * writes it), or NULL when OpenSSL fails.  In p. */
const char *tm_canon_sha256_hex(apr_pool_t *p, json_object *v);

#endif /* TM_CANON_H */
