/* test_body.c -- request bodies as text: what RFC 8259 allows and json-c
 * 0.16 would take beyond it (tm_body_scan), and tm_body_parse's answers. */
#include <string.h>
#include <CUnit/CUnit.h>

#include "tm_body.h"

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

int add_body_suite(void)
{
    CU_pSuite s = CU_add_suite("request bodies", NULL, NULL);

    if (!s || !CU_add_test(s, "strings", test_scan_strings)
        || !CU_add_test(s, "numbers", test_scan_numbers)
        || !CU_add_test(s, "parse", test_parse)) {
        return -1;
    }
    return 0;
}
