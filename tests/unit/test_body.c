/* SPDX-License-Identifier: Apache-2.0 */
/* test_body.c -- request bodies as text: what RFC 8259 allows and json-c
 * 0.16 would take beyond it (tm_body_scan), tm_body_parse's answers, and
 * the canonical text that fingerprints a body (tm_canon.c). */
#include <string.h>
#include <CUnit/CUnit.h>
#include "apr_general.h"

#include "tm_body.h"
#include "tm_canon.h"

static apr_pool_t *pool;

static tm_body_result scan(const char *s)
{
    return tm_body_scan(s, strlen(s));
}

static tm_body_result parse(const char *s, size_t len)
{
    json_object *o = NULL;
    tm_body_result r = tm_body_parse(s, len, &o);

    json_object_put(o);
    return r;
}

#define PARSE(s) parse((s), strlen(s))

static void test_scan_strings(void)
{
    /* Quotes and control characters inside strings, escaped or not. */
    CU_ASSERT_EQUAL(scan("{\"a\":1}"), TM_BODY_OK);
    CU_ASSERT_EQUAL(scan("{'a':1}"), TM_BODY_MALFORMED);
    CU_ASSERT_EQUAL(scan("{\"a\":{'b':1}}"), TM_BODY_MALFORMED);
    CU_ASSERT_EQUAL(scan("['a']"), TM_BODY_MALFORMED);
    CU_ASSERT_EQUAL(scan("{\"it's\":\"'a':1\"}"), TM_BODY_OK);
    CU_ASSERT_EQUAL(scan("\"a\\\"'\""), TM_BODY_OK);
    /* An escaped backslash ends the escape: the quote after it closes the
     * string, and the single quote after that is outside. */
    CU_ASSERT_EQUAL(scan("[\"a\\\\\",'b']"), TM_BODY_MALFORMED);
    CU_ASSERT_EQUAL(scan("[\"a\\\\\",\"'b'\"]"), TM_BODY_OK);
    CU_ASSERT_EQUAL(scan("[\"a\\\\\\\"',\"]"), TM_BODY_OK);
    CU_ASSERT_EQUAL(scan("\"a\tb\""), TM_BODY_MALFORMED);
    CU_ASSERT_EQUAL(scan("\"a\nb\""), TM_BODY_MALFORMED);
    CU_ASSERT_EQUAL(scan("\"a\x01" "b\""), TM_BODY_MALFORMED);
    CU_ASSERT_EQUAL(scan("\"a\x1f" "b\""), TM_BODY_MALFORMED);
    CU_ASSERT_EQUAL(scan("{\"a\x1f\":1}"), TM_BODY_MALFORMED);
    CU_ASSERT_EQUAL(scan("\"a\\\tb\""), TM_BODY_MALFORMED);
    CU_ASSERT_EQUAL(scan("\"a\\t\\n\\u0001\x7f\""), TM_BODY_OK);
    CU_ASSERT_EQUAL(tm_body_scan("\"a\0b\"", 5), TM_BODY_MALFORMED);
    CU_ASSERT_EQUAL(tm_body_scan("{}\0", 3), TM_BODY_MALFORMED);
    /* White space between tokens is JSON's: tab and newline included. */
    CU_ASSERT_EQUAL(scan(" {\t\"a\" :\r\n[ true , false , null ] }\n"),
                    TM_BODY_OK);
    /* Unclosed strings and trailing backslashes are json-c's to refuse. */
    CU_ASSERT_EQUAL(scan("\"abc"), TM_BODY_OK);
    CU_ASSERT_EQUAL(scan("\"abc\\"), TM_BODY_OK);
    CU_ASSERT_EQUAL(scan("/* c */ {}"), TM_BODY_MALFORMED);
}

static void test_scan_numbers(void)
{
    static const char *json[] = { "0", "-0", "2", "2.0", "2e0", "1e3",
                                  "1E+3", "-1e-3", "1e400", "0.5",
                                  "[1,-2.5e10]", "{\"a\":10}", "-0.0e0" };
    static const char *not_json[] = { "01", "-01", "1.", "1.e3", ".5", "+1",
                                      "-", "1e", "1e+", "1.2.3",
                                      "--1", "[1,-]", "00", "2e0.5" };
    static const char *not_finite[] = { "NaN", "Infinity", "-Infinity",
                                        "[1,NaN]", "{\"a\":-Infinity}" };
    size_t i;

    for (i = 0; i < sizeof json / sizeof json[0]; i++) {
        CU_ASSERT_EQUAL(scan(json[i]), TM_BODY_OK);
    }
    for (i = 0; i < sizeof not_json / sizeof not_json[0]; i++) {
        CU_ASSERT_EQUAL(scan(not_json[i]), TM_BODY_MALFORMED);
    }
    for (i = 0; i < sizeof not_finite / sizeof not_finite[0]; i++) {
        CU_ASSERT_EQUAL(scan(not_finite[i]), TM_BODY_NOT_FINITE);
    }
}

static void test_parse(void)
{
    json_object *o = NULL;

    CU_ASSERT_EQUAL(PARSE("{\"a\": [1e3, 2.0]}"), TM_BODY_OK);
    CU_ASSERT_EQUAL(tm_body_parse("{\"a\":1e400}", 11, &o), TM_BODY_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    json_object_put(o);
    CU_ASSERT_EQUAL(PARSE("{'a':1}"), TM_BODY_MALFORMED);
    CU_ASSERT_EQUAL(PARSE("{\"a\":\"x\ty\"}"), TM_BODY_MALFORMED);
    CU_ASSERT_EQUAL(PARSE("{\"a\": NaN}"), TM_BODY_NOT_FINITE);
    CU_ASSERT_EQUAL(PARSE("null"), TM_BODY_NULL);
    CU_ASSERT_EQUAL(PARSE("{\"a\":1} {\"b\":2}"), TM_BODY_MALFORMED);
    CU_ASSERT_EQUAL(PARSE("{\"a\":tru}"), TM_BODY_MALFORMED);
    CU_ASSERT_EQUAL(PARSE("{\"a\":1,}"), TM_BODY_MALFORMED);
    CU_ASSERT_EQUAL(PARSE("0x10"), TM_BODY_MALFORMED);
    CU_ASSERT_EQUAL(PARSE("{\"a\":\"\xc3\x28\"}"), TM_BODY_BAD_UTF8);
    CU_ASSERT_EQUAL(PARSE("[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]"),
                    TM_BODY_TOO_DEEP);
}

/* The canonical text of a body given as text. */
static const char *canon(const char *s)
{
    json_object *o = NULL;
    const char *text;

    CU_ASSERT_EQUAL_FATAL(tm_body_parse(s, strlen(s), &o), TM_BODY_OK);
    text = tm_canon_text(pool, o);
    json_object_put(o);
    return text;
}

static const char *digest(const char *s)
{
    json_object *o = NULL;
    const char *hex;

    CU_ASSERT_EQUAL_FATAL(tm_body_parse(s, strlen(s), &o), TM_BODY_OK);
    hex = tm_canon_sha256_hex(pool, o);
    json_object_put(o);
    return hex;
}

static void test_canon(void)
{
    const char *a = "{\"b\": [1, 2.5, {\"y\": null, \"x\": true}], "
                    "\"a\": \"\u0e01/\"}";
    const char *h;

    CU_ASSERT_STRING_EQUAL(canon(a), "{\"a\":\"\xe0\xb8\x81/\","
                           "\"b\":[1,2.5,{\"x\":true,\"y\":null}]}");
    /* Other white space, order of names, escapes, number forms. */
    CU_ASSERT_STRING_EQUAL(canon(a), canon(
        "{ \"a\" : \"\xe0\xb8\x81\\/\" ,\n\"b\":[1e0,25e-1,"
        "{\"x\":true,\"y\":null}]}"));
    CU_ASSERT_STRING_EQUAL(canon("[2, 2.0, 2e0, 20e-1, -0.0, 0]"),
                           "[2,2,2,2,0,0]");
    CU_ASSERT_STRING_EQUAL(canon("{\"a\":1,\"a\":2}"), "{\"a\":2}");
    CU_ASSERT_STRING_EQUAL(canon("\"a\\u0000b\""), "\"a\\u0000b\"");
    CU_ASSERT_STRING_NOT_EQUAL(canon("[1]"), canon("[\"1\"]"));
    CU_ASSERT_STRING_NOT_EQUAL(canon("[2.5]"), canon("[2]"));
    CU_ASSERT_STRING_NOT_EQUAL(canon("[9223372036854775807]"),
                               canon("[18446744073709551615]"));
    /* Names sort by bytes; nested objects too. */
    CU_ASSERT_STRING_EQUAL(canon("{\"b\":{\"d\":1,\"c\":2},\"B\":0,"
                                 "\"\xe0\xb8\x81\":3}"),
                           "{\"B\":0,\"b\":{\"c\":2,\"d\":1},"
                           "\"\xe0\xb8\x81\":3}");
    h = digest("{}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    /* SHA-256 of "{}". */
    CU_ASSERT_STRING_EQUAL(h, "44136FA355B3678A1146AD16F7E8649E94FB4FC21FE7"
                              "7E8310C060F61CAAFF8A");
    CU_ASSERT_STRING_EQUAL(digest("{\"a\":1,\"b\":2}"),
                           digest(" { \"b\" : 2.0 , \"a\" : 1 } "));
    CU_ASSERT_STRING_NOT_EQUAL(digest("{\"a\":1}"), digest("{\"a\":2}"));
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

int add_body_suite(void)
{
    CU_pSuite s = CU_add_suite("request bodies", init_pool, end_pool);

    if (!s || !CU_add_test(s, "strings", test_scan_strings)
        || !CU_add_test(s, "numbers", test_scan_numbers)
        || !CU_add_test(s, "parse", test_parse)
        || !CU_add_test(s, "canonical text", test_canon)) {
        return -1;
    }
    return 0;
}
