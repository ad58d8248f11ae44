/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_query.c -- query strings and page cursors (tm_query.c): the strict
 * decoder, integer parameters, and cursors both ways.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apr_general.h"
#include "apr_pools.h"
#include "apr_strings.h"
#include "apr_tables.h"

#include "tm_query.h"
#include "tm_valid.h"

static apr_pool_t *root;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    apr_initialize();
    apr_pool_create(&root, NULL);
    return 0;
}

/* Every decoded key and value is NUL-free valid UTF-8. */
static int check_entry(void *rec, const char *key, const char *value)
{
    (void)rec;
    if (!tm_utf8_valid(key, strlen(key))
        || !tm_utf8_valid(value, strlen(value))) {
        abort();
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    const char *args;
    apr_table_t *q = NULL;
    apr_int64_t id;
    long v;

    apr_pool_create(&p, root);
    /* r->args: a C string, so the input ends at its first NUL. */
    args = apr_pstrmemdup(p, (const char *)data, size);
    if (tm_query_parse(p, args, &q) == APR_SUCCESS) {
        const char *cursor = apr_table_get(q, "cursor");

        apr_table_do(check_entry, NULL, q, NULL);
        if (tm_query_int(q, "limit", 1, 100, 50, &v) && (v < 1 || v > 100)) {
            abort();
        }
        if (tm_query_int(q, "after", 0, 9007199254740991L, 0, &v) && v < 0) {
            abort();
        }
        if (cursor && tm_cursor_decode(p, cursor, &id)) {
            /* A cursor that decodes names an id that encodes back to one
             * decoding to the same id. */
            apr_int64_t again;

            if (id < 1 || !tm_cursor_decode(p, tm_cursor_encode(p, id),
                                            &again) || again != id) {
                abort();
            }
        }
    }
    /* The whole input as a cursor too (clients send them back verbatim). */
    if (tm_cursor_decode(p, args, &id) && id < 1) {
        abort();
    }
    apr_pool_destroy(p);
    return 0;
}
