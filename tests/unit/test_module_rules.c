/* SPDX-License-Identifier: Apache-2.0 */
/* test_module_rules.c -- mod_timing's rules: status changes, masking,
 * cursors, dates, prices, and the checks on JSON bodies (their syntax:
 * test_body.c). */
#include <string.h>
#include <CUnit/CUnit.h>
#include "apr_general.h"
#include "apr_strings.h"

#include "tm_mask.h"
#include "tm_query.h"
#include "tm_status.h"
#include "tm_valid.h"

static apr_pool_t *pool;

static void test_status(void)
{
    CU_ASSERT_TRUE(tm_status_valid("pending"));
    CU_ASSERT_TRUE(tm_status_valid("cancelled"));
    CU_ASSERT_FALSE(tm_status_valid("Pending"));
    CU_ASSERT_FALSE(tm_status_valid(""));
    CU_ASSERT_FALSE(tm_status_valid(NULL));
    CU_ASSERT_EQUAL(tm_status_change("pending", "preparing"), TM_CHANGE_OK);
    CU_ASSERT_EQUAL(tm_status_change("ready", "pending"), TM_CHANGE_OK);
    CU_ASSERT_EQUAL(tm_status_change("ready", "completed"), TM_CHANGE_OK);
    CU_ASSERT_EQUAL(tm_status_change("pending", "cancelled"), TM_CHANGE_OK);
    CU_ASSERT_EQUAL(tm_status_change("ready", "ready"), TM_CHANGE_SAME);
    CU_ASSERT_EQUAL(tm_status_change("completed", "completed"),
                    TM_CHANGE_SAME);
    CU_ASSERT_EQUAL(tm_status_change("completed", "ready"), TM_CHANGE_FINAL);
    CU_ASSERT_EQUAL(tm_status_change("cancelled", "pending"),
                    TM_CHANGE_FINAL);
    CU_ASSERT_TRUE(tm_status_list_valid("pending"));
    CU_ASSERT_TRUE(tm_status_list_valid("pending,ready,cancelled"));
    CU_ASSERT_FALSE(tm_status_list_valid(""));
    CU_ASSERT_FALSE(tm_status_list_valid("pending,"));
    CU_ASSERT_FALSE(tm_status_list_valid(",pending"));
    CU_ASSERT_FALSE(tm_status_list_valid("pending,,ready"));
    CU_ASSERT_FALSE(tm_status_list_valid("pending,eaten"));
    CU_ASSERT_FALSE(tm_status_list_valid("a-status-name-far-too-long"));
}

static void test_mask(void)
{
    CU_ASSERT_STRING_EQUAL(tm_mask_phone(pool, "0812345678"), "081****678");
    CU_ASSERT_STRING_EQUAL(tm_mask_phone(pool, "+66 81 234 5678"),
                           "+66*********678");
    CU_ASSERT_STRING_EQUAL(tm_mask_phone(pool, "12345"), "***45");
    CU_ASSERT_STRING_EQUAL(tm_mask_phone(pool, "1"), "1");
    CU_ASSERT_PTR_NULL(tm_mask_phone(pool, NULL));
    /* Whole characters, never bytes: Thai digits (three bytes each). */
    CU_ASSERT_STRING_EQUAL(tm_mask_phone(pool, "๐๘๑๒๓๔๕๖๗๘"),
                           "๐๘๑****๖๗๘");
    CU_ASSERT_STRING_EQUAL(tm_mask_phone(pool, "๑๒๓"), "*๒๓");
    /* The local part: its first character and three asterisks, whatever
     * its length, and that character whole. */
    CU_ASSERT_STRING_EQUAL(tm_mask_email(pool, "somchai@example.com"),
                           "s***@example.com");
    CU_ASSERT_STRING_EQUAL(tm_mask_email(pool, "a@b.co"), "a***@b.co");
    CU_ASSERT_STRING_EQUAL(tm_mask_email(pool, "xสมชาย@example.com"),
                           "x***@example.com");
    CU_ASSERT_STRING_EQUAL(tm_mask_email(pool, "ñandu@example.com"),
                           "ñ***@example.com");
    CU_ASSERT_STRING_EQUAL(tm_mask_email(pool, "สม@example.com"),
                           "ส***@example.com");
    CU_ASSERT_STRING_EQUAL(tm_mask_email(pool, "😀x@example.com"),
                           "😀***@example.com");
    CU_ASSERT_STRING_EQUAL(tm_mask_email(pool, "a@b@example.com"),
                           "a***@example.com");
    CU_ASSERT_STRING_EQUAL(tm_mask_email(pool, "no-at-sign"), "***");
    CU_ASSERT_STRING_EQUAL(tm_mask_email(pool, "@example.com"),
                           "***@example.com");
    CU_ASSERT_PTR_NULL(tm_mask_email(pool, NULL));
}

static void test_cursor(void)
{
    apr_int64_t id = 0;
    const char *c = tm_cursor_encode(pool, 42);

    CU_ASSERT_PTR_NULL(strpbrk(c, "+/="));
    CU_ASSERT_TRUE(tm_cursor_decode(pool, c, &id));
    CU_ASSERT_EQUAL(id, 42);
    CU_ASSERT_TRUE(tm_cursor_decode(pool, tm_cursor_encode(pool,
                   4294967295LL), &id));
    CU_ASSERT_EQUAL(id, 4294967295LL);
    CU_ASSERT_FALSE(tm_cursor_decode(pool, "", &id));
    CU_ASSERT_FALSE(tm_cursor_decode(pool, "42", &id));
    CU_ASSERT_FALSE(tm_cursor_decode(pool, "abc!", &id));
    CU_ASSERT_FALSE(tm_cursor_decode(pool, tm_cursor_encode(pool, 0), &id));
    CU_ASSERT_FALSE(tm_cursor_decode(pool, "dG0xOi0x", &id));   /* tm1:-1 */
    CU_ASSERT_FALSE(tm_cursor_decode(pool,
                    "dG0xOjk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5", &id));
}

static void test_query_int(void)
{
    apr_table_t *t;
    long v;

    tm_query_parse(pool, "limit=50&neg=-3&big=99999999999999999999&x=1e3"
                   "&empty=", &t);
    CU_ASSERT_TRUE(tm_query_int(t, "limit", 1, 200, 7, &v));
    CU_ASSERT_EQUAL(v, 50);
    CU_ASSERT_TRUE(tm_query_int(t, "absent", 1, 200, 7, &v));
    CU_ASSERT_EQUAL(v, 7);
    CU_ASSERT_FALSE(tm_query_int(t, "neg", 1, 200, 7, &v));
    CU_ASSERT_FALSE(tm_query_int(t, "big", 1, 200, 7, &v));
    CU_ASSERT_FALSE(tm_query_int(t, "x", 1, 200, 7, &v));
    CU_ASSERT_FALSE(tm_query_int(t, "empty", 1, 200, 7, &v));
}

static void test_date(void)
{
    CU_ASSERT_TRUE(tm_valid_date("2026-11-25"));
    CU_ASSERT_TRUE(tm_valid_date("2028-02-29"));
    CU_ASSERT_FALSE(tm_valid_date("2026-02-29"));
    CU_ASSERT_FALSE(tm_valid_date("2100-02-29"));
    CU_ASSERT_TRUE(tm_valid_date("2400-02-29"));
    CU_ASSERT_FALSE(tm_valid_date("2026-13-01"));
    CU_ASSERT_FALSE(tm_valid_date("2026-04-31"));
    CU_ASSERT_FALSE(tm_valid_date("2026-1-01"));
    CU_ASSERT_FALSE(tm_valid_date("1999-12-31"));
    CU_ASSERT_FALSE(tm_valid_date("2026-11-25x"));
    CU_ASSERT_FALSE(tm_valid_date(NULL));
}

static int price_of(const char *json, apr_int64_t *minor)
{
    json_object *o = json_tokener_parse(json);
    tm_problems pr;
    int ok;

    tm_problems_init(&pr, pool);
    ok = tm_valid_price(&pr, o, "price", 1, minor);
    json_object_put(o);
    return ok && pr.list->nelts == 0;
}

static void test_price(void)
{
    apr_int64_t m = 0;

    CU_ASSERT_TRUE(price_of("{\"price\": 60}", &m));
    CU_ASSERT_EQUAL(m, 6000);
    CU_ASSERT_TRUE(price_of("{\"price\": 65.5}", &m));
    CU_ASSERT_EQUAL(m, 6550);
    CU_ASSERT_TRUE(price_of("{\"price\": 0.29}", &m));
    CU_ASSERT_EQUAL(m, 29);
    CU_ASSERT_TRUE(price_of("{\"price\": 1000000.00}", &m));
    CU_ASSERT_EQUAL(m, 100000000);
    CU_ASSERT_TRUE(price_of("{\"price\": 0}", &m));
    CU_ASSERT_FALSE(price_of("{\"price\": 12.345}", &m));
    CU_ASSERT_FALSE(price_of("{\"price\": -1}", &m));
    CU_ASSERT_FALSE(price_of("{\"price\": 1000000.01}", &m));
    CU_ASSERT_FALSE(price_of("{\"price\": 1e308}", &m));
    CU_ASSERT_FALSE(price_of("{\"price\": \"60\"}", &m));
    CU_ASSERT_FALSE(price_of("{\"price\": null}", &m));
    CU_ASSERT_FALSE(price_of("{}", &m));
}

static void test_json_checks(void)
{
    json_object *s = json_object_new_string_len("ready\0x", 7);

    CU_ASSERT_PTR_NULL(tm_json_plain_string(s));
    json_object_put(s);
    s = json_object_new_string("ready");
    CU_ASSERT_STRING_EQUAL(tm_json_plain_string(s), "ready");
    json_object_put(s);
    CU_ASSERT_PTR_NULL(tm_json_plain_string(NULL));
}

static void test_text(void)
{
    json_object *o = json_tokener_parse(
        "{\"name\": \"  Ann  \", \"blank\": \"   \", \"none\": null,"
        " \"note\": \"a\\tb\\nc\", \"ctl\": \"a\\u0007b\", \"long\":"
        " \"ขขขขขขขขขข\"}");
    tm_problems pr;
    const tm_text_rule ten = { 1, 10, 0, 0 }, nine = { 1, 9, 0, 0 };

    tm_problems_init(&pr, pool);
    CU_ASSERT_STRING_EQUAL(tm_valid_text(&pr, o, "name", "name",
                                         &tm_rule_name, 1), "Ann");
    CU_ASSERT_PTR_NULL(tm_valid_text(&pr, o, "none", "none",
                                     &tm_rule_phone, 0));
    CU_ASSERT_PTR_NULL(tm_valid_text(&pr, o, "blank", "blank",
                                     &tm_rule_phone, 0));
    CU_ASSERT_STRING_EQUAL(tm_valid_text(&pr, o, "note", "note",
                                         &tm_rule_order_note, 0),
                           "a\tb\nc");
    /* Thai characters count as one each, not as three bytes. */
    CU_ASSERT_PTR_NOT_NULL(tm_valid_text(&pr, o, "long", "long", &ten, 1));
    CU_ASSERT_EQUAL(pr.list->nelts, 0);
    CU_ASSERT_PTR_NULL(tm_valid_text(&pr, o, "long", "long", &nine, 1));
    CU_ASSERT_PTR_NULL(tm_valid_text(&pr, o, "none", "none",
                                     &tm_rule_name, 0));    /* not null */
    CU_ASSERT_PTR_NULL(tm_valid_text(&pr, o, "blank", "blank",
                                     &tm_rule_name, 0));
    CU_ASSERT_PTR_NULL(tm_valid_text(&pr, o, "note", "note",
                                     &tm_rule_name, 0));    /* tab, NL */
    CU_ASSERT_PTR_NULL(tm_valid_text(&pr, o, "ctl", "ctl",
                                     &tm_rule_order_note, 0));
    CU_ASSERT_PTR_NULL(tm_valid_text(&pr, o, "missing", "missing",
                                     &tm_rule_name, 1));
    CU_ASSERT_EQUAL(pr.list->nelts, 6);
    CU_ASSERT_FALSE(pr.bad_utf8);
    json_object_put(o);
}

static void test_order_body(void)
{
    json_object *o = json_tokener_parse(
        "{\"customer_info\": {\"name\": \"A\", \"phone\": \"081-234\"},"
        " \"items\": [{\"menu_id\": 3, \"quantity\": 2, \"note\": \"x\"},"
        " {\"menu_id\": 0, \"quantity\": 100}]}");
    tm_order_input in;
    tm_problems pr;
    const tm_problem *p;

    tm_problems_init(&pr, pool);
    tm_valid_order(&pr, o, &in);
    CU_ASSERT_EQUAL(in.nlines, 2);
    CU_ASSERT_EQUAL(in.lines[0].menu_id, 3);
    CU_ASSERT_EQUAL(in.lines[0].quantity, 2);
    CU_ASSERT_STRING_EQUAL(in.phone, "081-234");
    CU_ASSERT_EQUAL_FATAL(pr.list->nelts, 2);
    p = &APR_ARRAY_IDX(pr.list, 0, tm_problem);
    CU_ASSERT_STRING_EQUAL(p->field, "items[1].menu_id");
    p = &APR_ARRAY_IDX(pr.list, 1, tm_problem);
    CU_ASSERT_STRING_EQUAL(p->field, "items[1].quantity");
    json_object_put(o);
}

/* The line's quantity written as `q`: 1 and its value when accepted, 0
 * when the only problem is on items[0].quantity. */
static int quantity_of(const char *q, int *value)
{
    json_object *o = json_tokener_parse(apr_psprintf(pool,
        "{\"customer_info\": {\"name\": \"A\"},"
        " \"items\": [{\"menu_id\": 1e0, \"quantity\": %s}]}", q));
    tm_order_input in;
    tm_problems pr;
    int ok;

    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    tm_problems_init(&pr, pool);
    tm_valid_order(&pr, o, &in);
    json_object_put(o);
    if (pr.list->nelts == 0) {
        CU_ASSERT_EQUAL(in.lines[0].menu_id, 1);
        *value = in.lines[0].quantity;
        return 1;
    }
    ok = pr.list->nelts == 1 && !strcmp(APR_ARRAY_IDX(pr.list, 0,
                                        tm_problem).field,
                                        "items[0].quantity");
    CU_ASSERT_TRUE(ok);
    return 0;
}

static void test_integer_forms(void)
{
    static const struct { const char *text; int value; } yes[] = {
        { "2", 2 }, { "2.0", 2 }, { "2e0", 2 }, { "1e1", 10 },
        { "2E+0", 2 }, { "20e-1", 2 }, { "0.99e2", 99 }, { "1", 1 } };
    static const char *no[] = { "2.5", "1e400", "-1e400", "1e20", "0",
                                "100", "1e2", "-0.0", "1e-400", "1.0000001",
                                "99999999999999999999", "\"2\"", "true",
                                "null", "[2]" };
    size_t i;
    int v;

    for (i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        v = -1;
        CU_ASSERT_TRUE(quantity_of(yes[i].text, &v));
        CU_ASSERT_EQUAL(v, yes[i].value);
    }
    for (i = 0; i < sizeof no / sizeof no[0]; i++) {
        CU_ASSERT_FALSE(quantity_of(no[i], &v));
    }
}

static int init_pool(void)
{
    return apr_initialize() == APR_SUCCESS
           && apr_pool_create(&pool, NULL) == APR_SUCCESS ? 0 : -1;
}

static int end_pool(void)
{
    apr_pool_destroy(pool);
    apr_terminate();
    return 0;
}

int add_module_rules_suite(void)
{
    CU_pSuite s = CU_add_suite("mod_timing rules", init_pool, end_pool);

    if (!s || !CU_add_test(s, "status changes", test_status)
        || !CU_add_test(s, "masking", test_mask)
        || !CU_add_test(s, "page cursors", test_cursor)
        || !CU_add_test(s, "integer query parameters", test_query_int)
        || !CU_add_test(s, "dates", test_date)
        || !CU_add_test(s, "prices", test_price)
        || !CU_add_test(s, "embedded NUL", test_json_checks)
        || !CU_add_test(s, "text fields", test_text)
        || !CU_add_test(s, "order bodies", test_order_body)
        || !CU_add_test(s, "integers in any form", test_integer_forms)) {
        return -1;
    }
    return 0;
}
