/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tm_canon.c -- the canonical text of a JSON value and its digest.
 *
 * A client that retries an order may send the same value in other bytes
 * (another JSON library, other white space, names in another order); for
 * an Idempotency-Key that is still the same request, so the body is
 * fingerprinted as a value.  json-c writes what we build here; this file
 * only decides the order of names and one form for each number.  Whether
 * a key matches is tm_orders.c's.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "apr_strings.h"
#include "tm_canon.h"

/* Integers up to 2^53 are exact as doubles: beyond that a double's
 * integer value is not what the client wrote, so it stays a double. */
#define TM_CANON_EXACT 9007199254740992.0

static int by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A new value equal to v in canonical form; the caller owns it. */
static json_object *canon(json_object *v)
{
    switch (json_object_get_type(v)) {
    case json_type_null:
        return NULL;
    case json_type_boolean:
        return json_object_new_boolean(json_object_get_boolean(v));
    case json_type_int:
        /* json-c clamps get_int64 at INT64_MAX: larger ones are uint64. */
        return json_object_get_int64(v) == INT64_MAX
               ? json_object_new_uint64(json_object_get_uint64(v))
               : json_object_new_int64(json_object_get_int64(v));
    case json_type_double: {
        double d = json_object_get_double(v);

        if (d >= -TM_CANON_EXACT && d <= TM_CANON_EXACT
            && (double)(int64_t)d == d) {
            return json_object_new_int64((int64_t)d);
        }
        return json_object_new_double(d);
    }
    case json_type_string:
        return json_object_new_string_len(json_object_get_string(v),
                                          json_object_get_string_len(v));
    case json_type_array: {
        size_t i, n = json_object_array_length(v);
        json_object *a = json_object_new_array_ext((int)n);

        for (i = 0; i < n; i++) {
            json_object_array_add(a, canon(json_object_array_get_idx(v, i)));
        }
        return a;
    }
    case json_type_object: {
        int i, n = json_object_object_length(v);
        const char **names = malloc(sizeof *names * (size_t)(n ? n : 1));
        json_object *o = json_object_new_object(), *child;
        json_object_iter it;

        if (!names) {
            return o;       /* a wrong fingerprint, never a crash */
        }
        i = 0;
        json_object_object_foreachC(v, it) {
            names[i++] = it.key;
        }
        qsort(names, (size_t)n, sizeof *names, by_name);
        for (i = 0; i < n; i++) {
            json_object_object_get_ex(v, names[i], &child);
            json_object_object_add(o, names[i], canon(child));
        }
        free(names);
        return o;
    }
    }
    return NULL;
}

const char *tm_canon_text(apr_pool_t *p, json_object *v)
{
    json_object *c = canon(v);
    const char *text = apr_pstrdup(p, json_object_to_json_string_ext(
        c, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));

    json_object_put(c);
    return text;
}

const char *tm_canon_sha256_hex(apr_pool_t *p, json_object *v)
{
    const char *text = tm_canon_text(p, v);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0, i;
    char *hex;

    if (!EVP_Digest(text, strlen(text), md, &n, EVP_sha256(), NULL)
        || n * 2 != TM_CANON_HEX_LEN) {
        return NULL;
    }
    hex = apr_palloc(p, TM_CANON_HEX_LEN + 1);
    for (i = 0; i < n; i++) {
        apr_snprintf(hex + 2 * i, 3, "%02X", md[i]);
    }
    return hex;
}
