/* SPDX-License-Identifier: Apache-2.0 */
/* test_access.c -- who may see an order (tm_access.c): the staff test,
 * the Cookie header reader, tracking tokens and the sight decision with
 * the two callers' rules (REST, and the WebSocket guard where a signed-in
 * identity decides alone). */
#include <string.h>
#include <CUnit/CUnit.h>
#include "apr_general.h"

#include "tm_access.h"

static apr_pool_t *pool;

static void test_staff(void)
{
    CU_ASSERT_TRUE(tm_role_is_staff("staff"));
    CU_ASSERT_TRUE(tm_role_is_staff("admin"));
    CU_ASSERT_FALSE(tm_role_is_staff("customer"));
    CU_ASSERT_FALSE(tm_role_is_staff("Staff"));
    CU_ASSERT_FALSE(tm_role_is_staff(""));
    CU_ASSERT_FALSE(tm_role_is_staff(NULL));
}

#define COOKIE(h, n) tm_cookie_value(pool, h, n)

static void test_cookie(void)
{
    CU_ASSERT_PTR_NULL(COOKIE(NULL, "a"));
    CU_ASSERT_PTR_NULL(COOKIE("", "a"));
    CU_ASSERT_STRING_EQUAL(COOKIE("a=1", "a"), "1");
    CU_ASSERT_STRING_EQUAL(COOKIE("b=2; a=1", "a"), "1");
    CU_ASSERT_STRING_EQUAL(COOKIE("b=2;a=1;c=3", "a"), "1");
    CU_ASSERT_STRING_EQUAL(COOKIE(" a = 1 ;b=2", "a"), "1");
    CU_ASSERT_STRING_EQUAL(COOKIE("a=\"q\"", "a"), "q");
    CU_ASSERT_STRING_EQUAL(COOKIE("a=", "a"), "");
    CU_ASSERT_STRING_EQUAL(COOKIE("a=1; a=2", "a"), "1");
    CU_ASSERT_STRING_EQUAL(COOKIE("a=x=y", "a"), "x=y");
    /* Names match whole: neither a longer name nor a suffix. */
    CU_ASSERT_PTR_NULL(COOKIE("ab=1", "a"));
    CU_ASSERT_PTR_NULL(COOKIE("xa=1", "a"));
    CU_ASSERT_STRING_EQUAL(COOKIE("xtiming_track_5=no; timing_track_5=yes",
                                  "timing_track_5"), "yes");
    CU_ASSERT_STRING_EQUAL(COOKIE("timing_track_15=no; timing_track_5=yes",
                                  "timing_track_5"), "yes");
    CU_ASSERT_PTR_NULL(COOKIE("a; b", "a"));
}

static void test_tracking(void)
{
    char long_token[TM_TRACKING_TOKEN_MAX + 2];
    const char *hash = tm_tracking_hash(pool, "abc");

    /* SHA-1("abc"), as MariaDB's HEX() writes it. */
    CU_ASSERT_STRING_EQUAL(hash, "A9993E364706816ABA3E25717850C26C9CD0D89D");
    CU_ASSERT_TRUE(tm_tracking_matches(pool, hash, "abc"));
    CU_ASSERT_FALSE(tm_tracking_matches(pool, hash, "abd"));
    CU_ASSERT_FALSE(tm_tracking_matches(pool, hash, ""));
    CU_ASSERT_FALSE(tm_tracking_matches(pool, hash, NULL));
    CU_ASSERT_FALSE(tm_tracking_matches(pool, NULL, "abc"));
    CU_ASSERT_FALSE(tm_tracking_matches(pool, "A999", "abc"));
    memset(long_token, 'x', sizeof long_token - 1);
    long_token[sizeof long_token - 1] = '\0';
    CU_ASSERT_FALSE(tm_tracking_matches(pool, tm_tracking_hash(pool,
                                        long_token), long_token));
    long_token[TM_TRACKING_TOKEN_MAX] = '\0';
    CU_ASSERT_TRUE(tm_tracking_matches(pool, tm_tracking_hash(pool,
                                       long_token), long_token));
}

static void test_sight(void)
{
    const char *hash = tm_tracking_hash(pool, "tok");
    tm_sight_claim none = { 0 };
    tm_sight_claim staff = { "staff", "9", NULL, NULL, 1 };
    tm_sight_claim admin = { "admin", "9", NULL, NULL, 0 };
    tm_sight_claim owner = { "customer", "7", NULL, NULL, 1 };
    tm_sight_claim other = { "customer", "8", "tok", NULL, 0 };
    tm_sight_claim other_ws = { "customer", "8", "tok", NULL, 1 };
    tm_sight_claim by_token = { NULL, NULL, "tok", NULL, 1 };
    tm_sight_claim by_cookie = { NULL, NULL, NULL, "tok", 1 };
    tm_sight_claim either = { NULL, NULL, "bad", "tok", 0 };
    tm_sight_claim wrong = { NULL, NULL, "bad", NULL, 0 };

    CU_ASSERT_EQUAL(tm_order_sight(pool, "7", hash, &none), TM_SEES_NOTHING);
    CU_ASSERT_EQUAL(tm_order_sight(pool, "7", hash, &staff),
                    TM_SEES_AS_STAFF);
    CU_ASSERT_EQUAL(tm_order_sight(pool, NULL, hash, &admin),
                    TM_SEES_AS_STAFF);
    CU_ASSERT_EQUAL(tm_order_sight(pool, "7", hash, &owner),
                    TM_SEES_AS_CUSTOMER);
    CU_ASSERT_EQUAL(tm_order_sight(pool, NULL, hash, &owner),
                    TM_SEES_NOTHING);
    /* REST: another customer's token does not hide the tracking token;
     * the WebSocket guard lets the identity decide alone. */
    CU_ASSERT_EQUAL(tm_order_sight(pool, "7", hash, &other),
                    TM_SEES_AS_CUSTOMER);
    CU_ASSERT_EQUAL(tm_order_sight(pool, "7", hash, &other_ws),
                    TM_SEES_NOTHING);
    CU_ASSERT_EQUAL(tm_order_sight(pool, NULL, hash, &by_token),
                    TM_SEES_AS_CUSTOMER);
    CU_ASSERT_EQUAL(tm_order_sight(pool, NULL, hash, &by_cookie),
                    TM_SEES_AS_CUSTOMER);
    CU_ASSERT_EQUAL(tm_order_sight(pool, NULL, hash, &either),
                    TM_SEES_AS_CUSTOMER);
    CU_ASSERT_EQUAL(tm_order_sight(pool, NULL, hash, &wrong),
                    TM_SEES_NOTHING);
    CU_ASSERT_EQUAL(tm_order_sight(pool, NULL, NULL, &by_token),
                    TM_SEES_NOTHING);
}

static int init(void)
{
    if (apr_initialize() != APR_SUCCESS) {
        return -1;
    }
    return apr_pool_create(&pool, NULL) == APR_SUCCESS ? 0 : -1;
}

static int end(void)
{
    apr_pool_destroy(pool);
    apr_terminate();
    return 0;
}

int add_access_suite(void)
{
    CU_pSuite s = CU_add_suite("mod_timing order access", init, end);

    if (!s || !CU_add_test(s, "staff roles", test_staff)
        || !CU_add_test(s, "Cookie header", test_cookie)
        || !CU_add_test(s, "tracking tokens", test_tracking)
        || !CU_add_test(s, "who sees an order", test_sight)) {
        return -1;
    }
    return 0;
}
