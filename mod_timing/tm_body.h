/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tm_body.h -- a request body's text to one JSON value, pure (no
 * request), so the fuzz harness drives exactly what the API parses.
 */
#ifndef TM_BODY_H
#define TM_BODY_H

#include <stddef.h>
#include <json.h>

/* Deep enough for every body the API takes; deeper is an attack. */
#define TM_JSON_MAX_DEPTH 16

typedef enum {
    TM_BODY_OK = 0,         /* *out is the value; the caller owns it */
    TM_BODY_NULL,           /* the body is the literal null */
    TM_BODY_BAD_UTF8,
    TM_BODY_MALFORMED,      /* not one well-formed value */
    TM_BODY_TOO_DEEP,
    TM_BODY_NOT_FINITE,     /* NaN or Infinity, which json-c accepts */
    TM_BODY_NO_MEMORY
} tm_body_result;

/* TM_BODY_OK when body[0..len) holds nothing json-c 0.16 would take that
 * RFC 8259 does not: outside strings only white space, structure, the
 * letters of the literals and numbers of RFC 8259's form (NaN and Infinity
 * are TM_BODY_NOT_FINITE; a single quote or anything else is
 * TM_BODY_MALFORMED); inside strings no byte below 0x20.  It does not
 * check the structure: json-c does. */
tm_body_result tm_body_scan(const char *body, size_t len);

/* Parses body[0..len) (with body[len] == '\0') strictly as one JSON value
 * with nothing but white space after it. */
tm_body_result tm_body_parse(const char *body, size_t len, json_object **out);

#endif /* TM_BODY_H */
