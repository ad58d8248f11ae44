/* SPDX-License-Identifier: Apache-2.0 */
/* test_module_pure.c -- mod_timing's pure logic: UTF-8 and id checks,
 * times, money, the strict query-string decoder and the client address
 * a per-address limit counts under. */
#include <string.h>
#include <CUnit/CUnit.h>
#include "apr_general.h"

#include "tm_addr.h"
#include "tm_money.h"
#include "tm_query.h"
#include "tm_time.h"
#include "tm_valid.h"

#define UTF8(s) tm_utf8_valid(s, sizeof(s) - 1)

static void test_utf8(void)
{
    CU_ASSERT_TRUE(UTF8(""));
    CU_ASSERT_TRUE(UTF8("Pad Thai"));
    CU_ASSERT_TRUE(UTF8("ผัดกะเพราไก่"));
    CU_ASSERT_TRUE(UTF8("\xF0\x9F\x8D\x9C"));          /* U+1F35C */
    CU_ASSERT_TRUE(UTF8("\xF4\x8F\xBF\xBF"));          /* U+10FFFF */
    CU_ASSERT_FALSE(UTF8("\xC3\x28"));                 /* bad continuation */
    CU_ASSERT_FALSE(UTF8("\xC0\xAF"));                 /* overlong '/' */
    CU_ASSERT_FALSE(UTF8("\xE0\x80\xAF"));             /* overlong */
    CU_ASSERT_FALSE(UTF8("\xED\xA0\x80"));             /* surrogate */
    CU_ASSERT_FALSE(UTF8("\xF4\x90\x80\x80"));         /* > U+10FFFF */
    CU_ASSERT_FALSE(UTF8("\xFF"));
    CU_ASSERT_FALSE(UTF8("abc\xE0\xB8"));              /* truncated */
    CU_ASSERT_FALSE(UTF8("\x80"));
}

static void test_parse_id(void)
{
    unsigned long id = 0;

    CU_ASSERT_TRUE(tm_parse_id("1", &id));
    CU_ASSERT_EQUAL(id, 1);
    CU_ASSERT_TRUE(tm_parse_id("4294967295", &id));
    CU_ASSERT_EQUAL(id, 4294967295UL);
    CU_ASSERT_FALSE(tm_parse_id("4294967296", &id));
    CU_ASSERT_FALSE(tm_parse_id("0", &id));
    CU_ASSERT_FALSE(tm_parse_id("01", &id));
    CU_ASSERT_FALSE(tm_parse_id("-1", &id));
    CU_ASSERT_FALSE(tm_parse_id("+1", &id));
    CU_ASSERT_FALSE(tm_parse_id("1a", &id));
    CU_ASSERT_FALSE(tm_parse_id(" 1", &id));
    CU_ASSERT_FALSE(tm_parse_id("", &id));
    CU_ASSERT_FALSE(tm_parse_id("99999999999999999999", &id));
    CU_ASSERT_FALSE(tm_parse_id(NULL, &id));
}

/* The JWT claim tv as libjwt gives it back (JSON text) and the column. */
static void test_parse_version(void)
{
    unsigned long v = 99;

    CU_ASSERT_TRUE(tm_parse_version("0", &v));
    CU_ASSERT_EQUAL(v, 0);
    CU_ASSERT_TRUE(tm_parse_version("7", &v));
    CU_ASSERT_EQUAL(v, 7);
    CU_ASSERT_TRUE(tm_parse_version("4294967295", &v));
    CU_ASSERT_EQUAL(v, 4294967295UL);
    CU_ASSERT_FALSE(tm_parse_version("4294967296", &v));
    CU_ASSERT_FALSE(tm_parse_version("00", &v));
    CU_ASSERT_FALSE(tm_parse_version("01", &v));
    CU_ASSERT_FALSE(tm_parse_version("-1", &v));
    CU_ASSERT_FALSE(tm_parse_version("1.5", &v));
    CU_ASSERT_FALSE(tm_parse_version("1e3", &v));
    CU_ASSERT_FALSE(tm_parse_version("\"0\"", &v));
    CU_ASSERT_FALSE(tm_parse_version("true", &v));
    CU_ASSERT_FALSE(tm_parse_version("null", &v));
    CU_ASSERT_FALSE(tm_parse_version("", &v));
    CU_ASSERT_FALSE(tm_parse_version(NULL, &v));
}

static void test_time(void)
{
    char out[TM_ISO_LEN];

    CU_ASSERT_EQUAL(tm_time_iso_from_db("2026-11-24 09:15:02.123", out), 0);
    CU_ASSERT_STRING_EQUAL(out, "2026-11-24T09:15:02.123Z");
    CU_ASSERT_EQUAL(tm_time_iso_from_db("2026-11-24 09:15:02.123456", out), 0);
    CU_ASSERT_STRING_EQUAL(out, "2026-11-24T09:15:02.123Z");
    CU_ASSERT_EQUAL(tm_time_iso_from_db("2026-11-24 09:15:02", out), 0);
    CU_ASSERT_STRING_EQUAL(out, "2026-11-24T09:15:02.000Z");
    CU_ASSERT_EQUAL(tm_time_iso_from_db("2026-11-24 09:15:02.5", out), 0);
    CU_ASSERT_STRING_EQUAL(out, "2026-11-24T09:15:02.500Z");
    CU_ASSERT_EQUAL(tm_time_iso_from_db("2026-11-24T09:15:02", out), -1);
    CU_ASSERT_EQUAL(tm_time_iso_from_db("2026-11-24 09:15", out), -1);
    CU_ASSERT_EQUAL(tm_time_iso_from_db("2026-11-24 09:15:02.1x", out), -1);
    CU_ASSERT_EQUAL(tm_time_iso_from_db(NULL, out), -1);

    tm_time_iso_from_usec(0, out);
    CU_ASSERT_STRING_EQUAL(out, "1970-01-01T00:00:00.000Z");
    tm_time_iso_from_usec(1795511702123456LL, out);
    CU_ASSERT_STRING_EQUAL(out, "2026-11-24T09:15:02.123Z");
}

static void test_money(void)
{
    char out[TM_MONEY_LEN];

    tm_money_format(0, out);
    CU_ASSERT_STRING_EQUAL(out, "0");
    tm_money_format(6000, out);
    CU_ASSERT_STRING_EQUAL(out, "60");
    tm_money_format(6050, out);
    CU_ASSERT_STRING_EQUAL(out, "60.5");
    tm_money_format(6055, out);
    CU_ASSERT_STRING_EQUAL(out, "60.55");
    tm_money_format(5, out);
    CU_ASSERT_STRING_EQUAL(out, "0.05");
    tm_money_format(100000000, out);
    CU_ASSERT_STRING_EQUAL(out, "1000000");
    tm_money_format(-125, out);
    CU_ASSERT_STRING_EQUAL(out, "-1.25");
    tm_money_format(INT64_MIN, out);
    CU_ASSERT_STRING_EQUAL(out, "-92233720368547758.08");
}

static void test_query(void)
{
    apr_pool_t *p;
    apr_table_t *t = NULL;

    apr_pool_create(&p, NULL);
    CU_ASSERT_EQUAL(tm_query_parse(p, NULL, &t), APR_SUCCESS);
    CU_ASSERT_TRUE(apr_is_empty_table(t));
    CU_ASSERT_EQUAL(tm_query_parse(p, "status=pending,ready&limit=5&x"
                                   "&name=%E0%B8%81+b&&", &t), APR_SUCCESS);
    CU_ASSERT_STRING_EQUAL(apr_table_get(t, "status"), "pending,ready");
    CU_ASSERT_STRING_EQUAL(apr_table_get(t, "limit"), "5");
    CU_ASSERT_STRING_EQUAL(apr_table_get(t, "x"), "");
    CU_ASSERT_STRING_EQUAL(apr_table_get(t, "name"), "\xE0\xB8\x81 b");
    CU_ASSERT_EQUAL(tm_query_parse(p, "a=%zz", &t), APR_EINVAL);
    CU_ASSERT_EQUAL(tm_query_parse(p, "a=%4", &t), APR_EINVAL);
    CU_ASSERT_EQUAL(tm_query_parse(p, "a=%", &t), APR_EINVAL);
    CU_ASSERT_EQUAL(tm_query_parse(p, "a=%00", &t), APR_EINVAL);
    CU_ASSERT_EQUAL(tm_query_parse(p, "a=%ff", &t), APR_EINVAL);
    CU_ASSERT_EQUAL(tm_query_parse(p, "%c3%28=1", &t), APR_EINVAL);
    CU_ASSERT_EQUAL(tm_query_parse(p, "a=\xff", &t), APR_EINVAL);
    apr_pool_destroy(p);
}

static void test_addr_bucket(void)
{
    apr_pool_t *p;

    apr_pool_create(&p, NULL);
#define BUCKET(ip, want) CU_ASSERT_STRING_EQUAL(tm_addr_bucket(p, ip), want)
    BUCKET("192.0.2.1", "192.0.2.1");
    BUCKET("127.3.4.5", "127.3.4.5");
    /* One /64, however its addresses are written. */
    BUCKET("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64");
    BUCKET("2001:db8:1:2::1", "2001:db8:1:2::/64");
    BUCKET("2001:0DB8:0001:0002:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64");
    BUCKET("2001:db8:1:2::", "2001:db8:1:2::/64");
    /* The neighbouring /64s are others. */
    BUCKET("2001:db8:1:3::1", "2001:db8:1:3::/64");
    BUCKET("2001:db8:1:1:ffff::1", "2001:db8:1:1::/64");
    BUCKET("2001:db8::1", "2001:db8::/64");
    BUCKET("::1", "::/64");
    BUCKET("fe80::1%eth0", "fe80::/64");
    /* An IPv4 client on a dual-stack socket is that IPv4 address. */
    BUCKET("::ffff:192.0.2.1", "192.0.2.1");
    /* Not an address: the text as it is. */
    BUCKET("unknown", "unknown");
    BUCKET("2001:db8::1::2", "2001:db8::1::2");
    BUCKET(NULL, "");
#undef BUCKET
    apr_pool_destroy(p);
}

static int init_apr(void)
{
    return apr_initialize() == APR_SUCCESS ? 0 : -1;
}

static int end_apr(void)
{
    apr_terminate();
    return 0;
}

int add_module_pure_suite(void)
{
    CU_pSuite s = CU_add_suite("mod_timing pure logic", init_apr, end_apr);

    if (!s || !CU_add_test(s, "UTF-8 validation", test_utf8)
        || !CU_add_test(s, "ids", test_parse_id)
        || !CU_add_test(s, "token versions", test_parse_version)
        || !CU_add_test(s, "ISO 8601 times", test_time)
        || !CU_add_test(s, "money from minor units", test_money)
        || !CU_add_test(s, "strict query strings", test_query)
        || !CU_add_test(s, "per-address limit keys", test_addr_bucket)) {
        return -1;
    }
    return 0;
}
