/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tm_query.c -- strict decoding of application/x-www-form-urlencoded
 * query strings, their integer parameters, and page cursors (base64url
 * through apr_encode.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "apr_encode.h"
#include "apr_strings.h"
#include "apr_lib.h"

#include "tm_query.h"
#include "tm_valid.h"

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Decodes s[0..len) into a new string in p; NULL when malformed. */
static char *decode(apr_pool_t *p, const char *s, size_t len)
{
    char *out = apr_palloc(p, len + 1);
    size_t i, n = 0;

    for (i = 0; i < len; i++) {
        char c = s[i];

        if (c == '+') {
            c = ' ';
        }
        else if (c == '%') {
            int hi, lo;

            if (i + 2 >= len) {   /* needs two hex digits */
                return NULL;
            }
            hi = hex_value(s[i + 1]);
            lo = hi < 0 ? -1 : hex_value(s[i + 2]);
            if (lo < 0) {
                return NULL;
            }
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        if (c == '\0') {
            return NULL;
        }
        out[n++] = c;
    }
    out[n] = '\0';
    return tm_utf8_valid(out, n) ? out : NULL;
}

apr_status_t tm_query_parse(apr_pool_t *p, const char *args,
                            apr_table_t **out)
{
    apr_table_t *t = apr_table_make(p, 4);
    const char *s = args ? args : "";

    while (*s) {
        size_t len = strcspn(s, "&");
        const char *eq = memchr(s, '=', len);
        size_t klen = eq ? (size_t)(eq - s) : len;

        if (len > 0) {
            char *key = decode(p, s, klen);
            char *val = eq ? decode(p, eq + 1, len - klen - 1) : "";

            if (!key || !val) {
                return APR_EINVAL;
            }
            apr_table_addn(t, key, val);
        }
        s += len;
        if (*s == '&') {
            s++;
        }
    }
    *out = t;
    return APR_SUCCESS;
}

#define CURSOR_PREFIX "tm1:"

const char *tm_cursor_encode(apr_pool_t *p, apr_int64_t id)
{
    return apr_pencode_base64(p, apr_psprintf(p, CURSOR_PREFIX "%"
                                              APR_INT64_T_FMT, id),
                              APR_ENCODE_STRING, APR_ENCODE_BASE64URL, NULL);
}

int tm_cursor_decode(apr_pool_t *p, const char *cursor, apr_int64_t *id)
{
    size_t len = strlen(cursor), i;
    const char *plain;
    char *end;
    apr_int64_t v;

    if (len == 0 || len > 64) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        if (!tm_b64url_char(cursor[i])) {
            return 0;
        }
    }
    /* Strict: a length no encoder gives (4n+1) is refused too. */
    plain = apr_pdecode_base64(p, cursor, (apr_ssize_t)len,
                               APR_ENCODE_BASE64URL, NULL);
    if (!plain || strncmp(plain, CURSOR_PREFIX, sizeof CURSOR_PREFIX - 1)) {
        return 0;
    }
    plain += sizeof CURSOR_PREFIX - 1;
    if (!apr_isdigit(*plain)) {
        return 0;
    }
    errno = 0;
    v = apr_strtoi64(plain, &end, 10);
    if (*end || v < 1 || errno == ERANGE) {
        return 0;
    }
    *id = v;
    return 1;
}

int tm_query_int(apr_table_t *query, const char *name, long min, long max,
                 long dflt, long *out)
{
    const char *s = apr_table_get(query, name);
    char *end;
    long v;

    if (!s) {
        *out = dflt;
        return 1;
    }
    if (!apr_isdigit(*s) && *s != '-') {
        return 0;
    }
    errno = 0;
    v = strtol(s, &end, 10);
    if (*end || errno == ERANGE || v < min || v > max) {
        return 0;
    }
    *out = v;
    return 1;
}
