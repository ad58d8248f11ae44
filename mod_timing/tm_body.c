/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tm_body.c -- strict JSON for request bodies: valid UTF-8, one value,
 * bounded depth, RFC 8259 only.
 *
 * json-c parses; this file only refuses what json-c 0.16 takes although
 * it is not JSON, even with JSON_TOKENER_STRICT: object names in single
 * quotes, raw control characters inside strings, NaN and Infinity, and
 * numbers such as 1. or -01.  That takes a look at the text before json-c
 * sees it (tm_body_scan), since the parsed value no longer tells how it
 * was written.  What a number means for a field (range, integer or not)
 * is tm_valid.c's to say: 1e400 is JSON, and a 422 on its field.
 */
#include <string.h>

#include "tm_body.h"
#include "tm_valid.h"

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* The length of the RFC 8259 number at s[0..end), or 0 when what starts
 * there is no number: -? (0 | [1-9][0-9]*) (.[0-9]+)? ([eE][+-]?[0-9]+)?,
 * and not followed by anything that would continue it (json-c reads
 * "-01" as -1 and "1." as 1). */
static size_t number_length(const char *s, const char *end)
{
    const char *p = s;

    if (p < end && *p == '-') {
        p++;
    }
    if (p < end && *p == '0') {
        p++;
    }
    else if (p < end && is_digit(*p)) {
        while (p < end && is_digit(*p)) {
            p++;
        }
    }
    else {
        return 0;
    }
    if (p < end && *p == '.') {
        if (++p == end || !is_digit(*p)) {
            return 0;
        }
        while (p < end && is_digit(*p)) {
            p++;
        }
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-')) {
            p++;
        }
        if (p == end || !is_digit(*p)) {
            return 0;
        }
        while (p < end && is_digit(*p)) {
            p++;
        }
    }
    if (p < end && (is_digit(*p) || strchr(".eE+-", *p))) {
        return 0;
    }
    return (size_t)(p - s);
}

tm_body_result tm_body_scan(const char *body, size_t len)
{
    const char *p = body, *end = body + len;
    size_t n;

    while (p < end) {
        char c = *p;

        if (c == '"') {
            /* A string: to its closing quote, past escapes.  Whether an
             * escape is valid is json-c's to say; an unclosed string too. */
            for (p++; p < end && *p != '"'; p++) {
                if ((unsigned char)*p < 0x20) {
                    return TM_BODY_MALFORMED;
                }
                if (*p == '\\' && ++p < end && (unsigned char)*p < 0x20) {
                    return TM_BODY_MALFORMED;
                }
            }
            if (p < end) {
                p++;
            }
        }
        else if (c == '-' || is_digit(c)) {
            if (c == '-' && p + 1 < end && (p[1] == 'I' || p[1] == 'N')) {
                return TM_BODY_NOT_FINITE;
            }
            if (!(n = number_length(p, end))) {
                return TM_BODY_MALFORMED;
            }
            p += n;
        }
        else if (c == 'N' || c == 'I') {
            return TM_BODY_NOT_FINITE;      /* NaN, Infinity */
        }
        else if ((c >= 'a' && c <= 'z') || (c && strchr(" \t\r\n{}[]:,", c))) {
            /* Structure, white space, and the letters of true, false and
             * null, which json-c checks in strict mode. */
            p++;
        }
        else {
            return TM_BODY_MALFORMED;       /* ' and anything else */
        }
    }
    return TM_BODY_OK;
}

tm_body_result tm_body_parse(const char *body, size_t len, json_object **out)
{
    struct json_tokener *tok;
    json_object *root;
    enum json_tokener_error err;
    tm_body_result scan;
    size_t end;

    *out = NULL;
    /* The whole text, before anything else looks at it; json-c's own
     * check is looser (tm_valid.h says how). */
    if (!tm_utf8_valid(body, len)) {
        return TM_BODY_BAD_UTF8;
    }
    if ((scan = tm_body_scan(body, len)) != TM_BODY_OK) {
        return scan;
    }
    tok = json_tokener_new_ex(TM_JSON_MAX_DEPTH);
    if (!tok) {
        return TM_BODY_NO_MEMORY;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    /* Including the terminating NUL tells json-c the input has ended, so a
     * bare number or literal ("null") is complete. */
    root = json_tokener_parse_ex(tok, body, (int)len + 1);
    err = json_tokener_get_error(tok);
    end = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    if (err != json_tokener_success) {
        json_object_put(root);
        return err == json_tokener_error_depth ? TM_BODY_TOO_DEEP
                                               : TM_BODY_MALFORMED;
    }
    /* The whole body must be one value: nothing but white space after it
     * (a NUL inside the body is not white space). */
    while (end < len && body[end] && strchr(" \t\r\n", body[end])) {
        end++;
    }
    if (end < len) {
        json_object_put(root);
        return TM_BODY_MALFORMED;
    }
    if (!root) {
        return TM_BODY_NULL;
    }
    *out = root;
    return TM_BODY_OK;
}
