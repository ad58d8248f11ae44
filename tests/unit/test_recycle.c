/* SPDX-License-Identifier: Apache-2.0 */
/* test_recycle.c -- the pace of recycling an old Apache generation's
 * sessions: which generations count, and how many are due when. */
#include <stdint.h>
#include <CUnit/CUnit.h>
#include "recycle.h"

static void test_generations(void)
{
    recycle r;

    recycle_init(&r, 5000);
    CU_ASSERT_FALSE(r.running);
    CU_ASSERT_EQUAL(recycle_quota(&r, 1000), 0);
    /* the first generation seen is new, even with nothing to recycle */
    CU_ASSERT_EQUAL(recycle_start(&r, 1, 10, 1000), 1);
    CU_ASSERT_EQUAL(r.generation, 1);
    CU_ASSERT_TRUE(r.running);
    /* duplicates and lower ones change nothing */
    CU_ASSERT_EQUAL(recycle_start(&r, 1, 99, 2000), 0);
    CU_ASSERT_EQUAL(recycle_start(&r, 0, 99, 2000), 0);
    CU_ASSERT_EQUAL(r.total, 10);
    CU_ASSERT_EQUAL(r.start_ms, 1000);
    /* a generation 0 never starts a run: sessions are at least 0 */
    recycle_init(&r, 5000);
    CU_ASSERT_EQUAL(recycle_start(&r, 0, 0, 0), 0);
    CU_ASSERT_FALSE(r.running);
}

static void test_pace(void)
{
    recycle r;
    size_t q;

    recycle_init(&r, 5000);
    recycle_start(&r, 3, 1000, 10000);
    CU_ASSERT_EQUAL(recycle_quota(&r, 10000), 0);       /* nothing yet */
    CU_ASSERT_EQUAL(recycle_next_delay(&r, 10000), RECYCLE_TICK_MS);
    q = recycle_quota(&r, 10100);                       /* 1/50 of it */
    CU_ASSERT_EQUAL(q, 20);
    recycle_note(&r, q, 0);
    CU_ASSERT_EQUAL(recycle_quota(&r, 10100), 0);       /* kept pace */
    /* a late tick catches up */
    q = recycle_quota(&r, 12500);
    CU_ASSERT_EQUAL(q, 480);
    recycle_note(&r, q, 0);
    CU_ASSERT_EQUAL(recycle_next_delay(&r, 14950), 50); /* window's end */
    /* past the window: everything left, latecomers included */
    CU_ASSERT_EQUAL(recycle_quota(&r, 15000), SIZE_MAX);
    recycle_note(&r, 500, 1);
    CU_ASSERT_FALSE(r.running);
    CU_ASSERT_EQUAL(r.done, 1000);
    CU_ASSERT_EQUAL(recycle_quota(&r, 16000), 0);
    CU_ASSERT_EQUAL(recycle_next_delay(&r, 16000), 1);
}

static void test_few_and_restart(void)
{
    recycle r;

    /* fewer sessions than slices: one every 5000/3 ms */
    recycle_init(&r, 5000);
    recycle_start(&r, 1, 3, 0);
    CU_ASSERT_EQUAL(recycle_quota(&r, 1600), 0);
    CU_ASSERT_EQUAL(recycle_quota(&r, 1700), 1);
    recycle_note(&r, 1, 0);
    CU_ASSERT_EQUAL(recycle_quota(&r, 3400), 1);
    /* a newer generation mid-run starts again toward it */
    CU_ASSERT_EQUAL(recycle_start(&r, 2, 8, 3400), 1);
    CU_ASSERT_EQUAL(r.done, 0);
    CU_ASSERT_EQUAL(recycle_quota(&r, 3400), 0);
    CU_ASSERT_EQUAL(recycle_quota(&r, 5900), 4);
    /* a clock that has not moved (or went back) asks for nothing */
    CU_ASSERT_EQUAL(recycle_quota(&r, 3000), 0);
}

static void test_at_once(void)
{
    recycle r;

    recycle_init(&r, 0);
    recycle_start(&r, 7, 5, 100);
    CU_ASSERT_EQUAL(recycle_quota(&r, 100), SIZE_MAX);
    recycle_init(&r, -5);                   /* nonsense reads as 0 */
    CU_ASSERT_EQUAL(r.spread_ms, 0);
    /* a huge count over the longest window does not overflow */
    recycle_init(&r, RECYCLE_MAX_SPREAD_MS);
    recycle_start(&r, 1, (size_t)1 << 40, 0);
    CU_ASSERT_EQUAL(recycle_quota(&r, RECYCLE_MAX_SPREAD_MS / 2),
                    (size_t)1 << 39);
}

int add_recycle_suite(void)
{
    CU_pSuite s = CU_add_suite("recycle.c", NULL, NULL);

    if (!s
        || !CU_add_test(s, "new, duplicate and lower generations",
                        test_generations)
        || !CU_add_test(s, "closes keep pace with the window", test_pace)
        || !CU_add_test(s, "few sessions, and a newer generation mid-run",
                        test_few_and_restart)
        || !CU_add_test(s, "no window, and big counts", test_at_once)) {
        return -1;
    }
    return 0;
}
