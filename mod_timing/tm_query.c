/*
 * tm_query.c -- strict decoding of application/x-www-form-urlencoded
 * query strings.
 */
#include <string.h>

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
