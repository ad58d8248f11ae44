/* SPDX-License-Identifier: Apache-2.0 */
/* test_gapwatch.c -- the gap watch: gaps that fill in time, gaps that
 * stay open past the horizon (reported once, then forgotten), ids below
 * the first one, splits, big jumps and the bound on open ranges. */
#include <CUnit/CUnit.h>
#include "gapwatch.h"

static void test_in_order_and_filled(void)
{
    gapwatch *g = gw_create(2000);

    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    gw_note(g, 5, 0);
    gw_note(g, 6, 10);
    gw_note(g, 7, 20);
    CU_ASSERT_EQUAL(gw_open(g), 0);
    CU_ASSERT_EQUAL(gw_next_deadline(g), -1);
    /* 12 then 11: out of order, filled well within the horizon */
    gw_note(g, 8, 30);
    gw_note(g, 9, 30);
    gw_note(g, 10, 30);
    gw_note(g, 12, 100);
    CU_ASSERT_EQUAL(gw_open(g), 1);
    CU_ASSERT_EQUAL(gw_next_deadline(g), 2100);
    gw_note(g, 11, 150);
    CU_ASSERT_EQUAL(gw_open(g), 0);
    CU_ASSERT_EQUAL(gw_expire(g, 5000), 0);
    /* ids below the first received are not gaps */
    gw_note(g, 2, 200);
    CU_ASSERT_EQUAL(gw_open(g), 0);
    gw_destroy(g);
}

static void test_expiry_once(void)
{
    gapwatch *g = gw_create(2000);

    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    gw_note(g, 20, 0);
    gw_note(g, 22, 1000);               /* 21 missing from t=1000 */
    CU_ASSERT_EQUAL(gw_expire(g, 2999), 0);
    CU_ASSERT_EQUAL(gw_expire(g, 3000), 1);
    CU_ASSERT_EQUAL(gw_open(g), 0);
    /* forgotten: no second report, and a late 21 is no new trouble */
    CU_ASSERT_EQUAL(gw_expire(g, 10000), 0);
    gw_note(g, 21, 11000);
    CU_ASSERT_EQUAL(gw_open(g), 0);
    CU_ASSERT_EQUAL(gw_expire(g, 20000), 0);
    gw_destroy(g);
}

static void test_split_and_jump(void)
{
    gapwatch *g = gw_create(500);

    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    gw_note(g, 1, 0);
    gw_note(g, 10, 0);                  /* 2..9 */
    gw_note(g, 5, 100);                 /* 2..4, 6..9 */
    CU_ASSERT_EQUAL(gw_open(g), 2);
    gw_note(g, 2, 100);
    gw_note(g, 4, 100);
    gw_note(g, 3, 100);                 /* 6..9 left */
    CU_ASSERT_EQUAL(gw_open(g), 1);
    gw_note(g, 1000000, 200);           /* a jump: one range, 11..999999 */
    CU_ASSERT_EQUAL(gw_open(g), 2);
    /* the split half kept its age: 6..9 expires at 500, the jump at 700 */
    CU_ASSERT_EQUAL(gw_next_deadline(g), 500);
    CU_ASSERT_EQUAL(gw_expire(g, 500), 1);
    CU_ASSERT_EQUAL(gw_next_deadline(g), 700);
    CU_ASSERT_EQUAL(gw_expire(g, 700), 1);
    CU_ASSERT_EQUAL(gw_next_deadline(g), -1);
    gw_reset(g);
    gw_note(g, 3, 800);                 /* after a reset, a new start */
    CU_ASSERT_EQUAL(gw_open(g), 0);
    gw_destroy(g);
}

static void test_bound(void)
{
    gapwatch *g = gw_create(100000);
    int64_t id;

    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    gw_note(g, 1, 0);
    /* every other id missing: one range each */
    for (id = 3; id <= 2 * GW_MAX_GAPS + 1; id += 2) {
        gw_note(g, id, id);
    }
    CU_ASSERT_EQUAL(gw_open(g), GW_MAX_GAPS);
    gw_note(g, 2 * GW_MAX_GAPS + 3, 5000);
    CU_ASSERT_EQUAL(gw_open(g), GW_MAX_GAPS);
    /* the oldest was pushed out: reported at once */
    CU_ASSERT_EQUAL(gw_next_deadline(g), 5000);
    CU_ASSERT_EQUAL(gw_expire(g, 5000), 1);
    /* a new range when full pushes out the oldest, and so does a split */
    gw_note(g, 2 * GW_MAX_GAPS + 10, 5000);
    gw_note(g, 2 * GW_MAX_GAPS + 7, 5000);
    CU_ASSERT_EQUAL(gw_open(g), GW_MAX_GAPS);
    CU_ASSERT_EQUAL(gw_expire(g, 5000), 2);
    CU_ASSERT_EQUAL(gw_expire(g, 105000), GW_MAX_GAPS);
    gw_destroy(g);
}

int add_gapwatch_suite(void)
{
    CU_pSuite s = CU_add_suite("gapwatch.c", NULL, NULL);

    if (!s
        || !CU_add_test(s, "in order, and out of order filled in time",
                        test_in_order_and_filled)
        || !CU_add_test(s, "an open gap is reported once",
                        test_expiry_once)
        || !CU_add_test(s, "splits and jumps", test_split_and_jump)
        || !CU_add_test(s, "bounded open ranges", test_bound)) {
        return -1;
    }
    return 0;
}
