/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_order_body.c -- a request body as POST /api/orders (and the other
 * JSON endpoints) read it: tm_body_parse, then the validators of
 * tm_valid.c on whatever object came out, and the canonical text that
 * fingerprints it for an Idempotency-Key (tm_canon.c).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apr_general.h"
#include "apr_pools.h"

#include "tm_body.h"
#include "tm_canon.h"
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

/* What the validators return must hold: every line within bounds, texts
 * valid UTF-8, problems with a field and a message. */
static void check_order(const tm_order_input *in, const tm_problems *pr)
{
    int i;

    if (in->nlines < 0 || in->nlines > TM_ORDER_MAX_LINES) {
        abort();
    }
    if (pr->list->nelts > 0) {
        return;
    }
    for (i = 0; i < in->nlines; i++) {
        const tm_order_line *l = &in->lines[i];

        if (l->quantity < 1 || l->quantity > TM_QUANTITY_MAX
            || l->menu_id < 1 || l->menu_id > 4294967295UL
            || (l->note && !tm_utf8_valid(l->note, strlen(l->note)))) {
            abort();
        }
    }
    if (!in->name || !tm_utf8_valid(in->name, strlen(in->name))) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    char *body;
    json_object *o = NULL;
    tm_problems pr;
    tm_order_input in;
    apr_int64_t minor;
    int i;

    apr_pool_create(&p, root);
    /* tm_json_body gets the body NUL-terminated (tm_body_read). */
    body = apr_palloc(p, size + 1);
    memcpy(body, data, size);
    body[size] = '\0';
    if (tm_body_parse(body, size, &o) == TM_BODY_OK) {
        /* Any value has one canonical text, and it is JSON again. */
        const char *text = tm_canon_text(p, o);
        json_object *again = json_tokener_parse(text);

        if (!text || (!again && strcmp(text, "null"))
            || strcmp(tm_canon_text(p, again), text)
            || !tm_canon_sha256_hex(p, o)) {
            abort();
        }
        json_object_put(again);
    }
    if (o && json_object_is_type(o, json_type_object)) {
        memset(&in, 0, sizeof in);
        tm_problems_init(&pr, p);
        tm_valid_order(&pr, o, &in);
        check_order(&in, &pr);
        for (i = 0; i < pr.list->nelts; i++) {
            const tm_problem *q = &APR_ARRAY_IDX(pr.list, i, tm_problem);

            if (!q->field || !q->message) {
                abort();
            }
        }
        /* The other bodies: login, registration, menu items, users. */
        tm_problems_init(&pr, p);
        tm_valid_text(&pr, o, "email", "email", &tm_rule_email, 1);
        tm_valid_text(&pr, o, "password", "password", &tm_rule_password, 0);
        tm_valid_text(&pr, o, "phone", "phone", &tm_rule_phone, 0);
        if (tm_valid_price(&pr, o, "price", 1, &minor)
            && (minor < 0 || minor > 100000000)) {
            abort();
        }
        tm_valid_bool(&pr, o, "available");
        {
            json_object *d;

            if (json_object_object_get_ex(o, "date", &d)) {
                const char *s = tm_json_plain_string(d);

                if (s) {
                    tm_valid_date(s);
                }
            }
        }
    }
    json_object_put(o);
    apr_pool_destroy(p);
    return 0;
}
