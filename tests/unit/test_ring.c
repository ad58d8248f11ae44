/* SPDX-License-Identifier: Apache-2.0 */
/* test_ring.c -- the replay ring: replay in arrival order, out-of-order
 * ids, never-issued ids as resume points, too old / unknown / restarted,
 * epochs, losses, per-channel filtering and wrap-around. */
#include <stdio.h>
#include <string.h>
#include <CUnit/CUnit.h>
#include "ring.h"

/* Staff text "s<id>", customer text "c<id>" for updates. */
static void add(ring *r, int64_t id, int64_t order, int type)
{
    char s[32], c[32];

    snprintf(s, sizeof s, "s%lld", (long long)id);
    snprintf(c, sizeof c, "c%lld", (long long)id);
    CU_ASSERT_EQUAL(ring_add(r, id, order, type, s, strlen(s),
                             type == RING_STATUS_UPDATE ? c : NULL,
                             strlen(c)), 0);
}

static void join(const char *msg, size_t len, void *baton)
{
    char *out = baton;
    size_t n = strlen(out);

    if (n + len + 2 < 256) {
        if (n) {
            out[n++] = ',';
        }
        memcpy(out + n, msg, len);
        out[n + len] = '\0';
    }
}

/* What a channel gets resuming from n: the replay joined by commas, or
 * "resync:<reason>". */
static const char *resume(ring *r, const char *epoch, int64_t n,
                          int channel, int64_t order)
{
    static char out[256];
    ring_plan plan;
    size_t bytes, count;

    out[0] = '\0';
    ring_plan_resume(r, epoch, n, 0, &plan);
    if (plan.resync) {
        snprintf(out, sizeof out, "resync:%s", plan.reason);
        return out;
    }
    count = ring_replay(r, &plan, channel, order, join, out, &bytes);
    CU_ASSERT_EQUAL(count, ring_replay(r, &plan, channel, order, NULL, NULL,
                                       NULL));
    return out;
}

static void test_arrival_order(void)
{
    ring *r = ring_create(RING_DEFAULT_SIZE, RING_DEFAULT_BYTES);
    int64_t i;

    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(ring_set_epoch(r, "e1"), 1);
    for (i = 1; i <= 10; i++) {
        add(r, i, 100 + i, RING_NEW_ORDER);
    }
    CU_ASSERT_STRING_EQUAL(resume(r, "e1", 5, RING_ADMIN, 0),
                           "s6,s7,s8,s9,s10");
    CU_ASSERT_STRING_EQUAL(resume(r, "e1", 10, RING_ADMIN, 0), "");
    CU_ASSERT_STRING_EQUAL(resume(r, NULL, 9, RING_ADMIN, 0), "s10");
    /* 0: the channel had carried nothing, and nothing was dropped */
    CU_ASSERT_STRING_EQUAL(resume(r, "e1", 0, RING_ADMIN, 0),
                           "s1,s2,s3,s4,s5,s6,s7,s8,s9,s10");
    CU_ASSERT_EQUAL(ring_count(r), 10);
    CU_ASSERT_EQUAL(ring_max_seen(r), 10);
    ring_destroy(r);
}

static void test_out_of_order(void)
{
    ring *r = ring_create(16, RING_DEFAULT_BYTES);

    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    ring_set_epoch(r, "e");
    add(r, 10, 1, RING_NEW_ORDER);
    add(r, 12, 2, RING_NEW_ORDER);
    add(r, 11, 3, RING_NEW_ORDER);      /* committed late */
    add(r, 13, 4, RING_NEW_ORDER);
    /* resuming from 12 (seen before 11 arrived): 11 is not missed */
    CU_ASSERT_STRING_EQUAL(resume(r, "e", 12, RING_ADMIN, 0), "s11,s13");
    /* resuming from 11 (the last carried): 12 is not sent twice */
    CU_ASSERT_STRING_EQUAL(resume(r, "e", 11, RING_ADMIN, 0), "s13");
    CU_ASSERT_STRING_EQUAL(resume(r, "e", 10, RING_ADMIN, 0),
                           "s12,s11,s13");
    ring_destroy(r);
}

static void test_gap_resume_point(void)
{
    ring *r = ring_create(16, RING_DEFAULT_BYTES);

    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    ring_set_epoch(r, "e");
    add(r, 20, 1, RING_NEW_ORDER);
    add(r, 22, 2, RING_NEW_ORDER);
    add(r, 25, 3, RING_NEW_ORDER);
    add(r, 23, 4, RING_NEW_ORDER);
    /* 21 and 24 were never issued (or rolled back): valid points, and
     * everything above them is replayed in arrival order */
    CU_ASSERT_STRING_EQUAL(resume(r, "e", 21, RING_ADMIN, 0),
                           "s22,s25,s23");
    CU_ASSERT_STRING_EQUAL(resume(r, "e", 24, RING_ADMIN, 0), "s25");
    ring_destroy(r);
}

/* n = 0 is the start of history: a daemon that started after the
 * database logged events cannot replay from there. */
static void test_resume_from_the_start(void)
{
    ring *r = ring_create(RING_DEFAULT_SIZE, RING_DEFAULT_BYTES);
    ring_plan plan;

    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    ring_plan_resume(r, "e", 0, 7, &plan);
    CU_ASSERT_TRUE(plan.resync);
    CU_ASSERT_STRING_EQUAL(plan.reason, "restarted");
    ring_plan_resume(r, "e", 0, 0, &plan);
    CU_ASSERT_FALSE(plan.resync);
    ring_set_epoch(r, "e");
    add(r, 8, 1, RING_NEW_ORDER);
    /* 1 to 7 came before the daemon */
    CU_ASSERT_STRING_EQUAL(resume(r, "e", 0, RING_ADMIN, 0),
                           "resync:restarted");
    ring_destroy(r);

    r = ring_create(RING_DEFAULT_SIZE, RING_DEFAULT_BYTES);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    ring_set_epoch(r, "e");
    add(r, 1, 1, RING_NEW_ORDER);
    add(r, 2, 1, RING_NEW_ORDER);
    /* the whole history passed through this ring */
    CU_ASSERT_STRING_EQUAL(resume(r, "e", 0, RING_ADMIN, 0), "s1,s2");
    ring_destroy(r);
}

static void test_resyncs(void)
{
    ring *r = ring_create(4, RING_DEFAULT_BYTES);
    int64_t i;

    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    /* nothing received since start */
    CU_ASSERT_STRING_EQUAL(resume(r, "e", 5, RING_ADMIN, 0),
                           "resync:restarted");
    CU_ASSERT_STRING_EQUAL(resume(r, "e", 0, RING_ADMIN, 0), "");
    ring_set_epoch(r, "e");
    add(r, 50, 1, RING_NEW_ORDER);
    add(r, 51, 1, RING_NEW_ORDER);
    /* before the first id received since start */
    CU_ASSERT_STRING_EQUAL(resume(r, "e", 40, RING_ADMIN, 0),
                           "resync:restarted");
    /* newer than anything received */
    CU_ASSERT_STRING_EQUAL(resume(r, "e", 52, RING_ADMIN, 0),
                           "resync:unknown");
    CU_ASSERT_STRING_EQUAL(resume(r, "e", -1, RING_ADMIN, 0),
                           "resync:unknown");
    for (i = 52; i <= 60; i++) {
        add(r, i, 1, RING_NEW_ORDER);
    }
    /* 57..60 held: 56 and below are gone, but all that came after 56,
     * the last one dropped, is still here */
    CU_ASSERT_STRING_EQUAL(resume(r, "e", 56, RING_ADMIN, 0),
                           "s57,s58,s59,s60");
    CU_ASSERT_STRING_EQUAL(resume(r, "e", 55, RING_ADMIN, 0),
                           "resync:too_old");
    CU_ASSERT_STRING_EQUAL(resume(r, "e", 50, RING_ADMIN, 0),
                           "resync:too_old");
    CU_ASSERT_STRING_EQUAL(resume(r, "e", 0, RING_ADMIN, 0),
                           "resync:too_old");
    CU_ASSERT_STRING_EQUAL(resume(r, "e", 57, RING_ADMIN, 0),
                           "s58,s59,s60");
    /* the client's epoch is not the ring's */
    CU_ASSERT_STRING_EQUAL(resume(r, "other", 58, RING_ADMIN, 0),
                           "resync:epoch");
    CU_ASSERT_STRING_EQUAL(resume(r, "other", 0, RING_ADMIN, 0), "");
    ring_destroy(r);
}

static void test_dropped_out_of_order(void)
{
    ring *r = ring_create(3, RING_DEFAULT_BYTES);

    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    ring_set_epoch(r, "e");
    add(r, 100, 1, RING_NEW_ORDER);
    add(r, 99, 1, RING_NEW_ORDER);
    add(r, 101, 1, RING_NEW_ORDER);
    add(r, 102, 1, RING_NEW_ORDER);     /* drops 100, which outranks 99 */
    /* the newest dropped: what came after it is all here, 99 included */
    CU_ASSERT_STRING_EQUAL(resume(r, "e", 100, RING_ADMIN, 0),
                           "s99,s101,s102");
    add(r, 103, 1, RING_NEW_ORDER);     /* drops 99 */
    /* "ids above 100" would miss 99, which arrived after 100 and is gone
     * too: too old, not a gap */
    CU_ASSERT_STRING_EQUAL(resume(r, "e", 100, RING_ADMIN, 0),
                           "resync:too_old");
    CU_ASSERT_STRING_EQUAL(resume(r, "e", 99, RING_ADMIN, 0),
                           "s101,s102,s103");
    ring_destroy(r);
}

static void test_channels(void)
{
    ring *r = ring_create(16, RING_DEFAULT_BYTES);

    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    ring_set_epoch(r, "e");
    add(r, 1, 7, RING_NEW_ORDER);
    add(r, 2, 8, RING_NEW_ORDER);
    add(r, 3, 7, RING_STATUS_UPDATE);
    add(r, 4, 8, RING_STATUS_UPDATE);
    add(r, 5, 7, RING_STATUS_UPDATE);
    CU_ASSERT_EQUAL(ring_add(r, 6, 7, RING_STATUS_UPDATE, "s6", 2, NULL, 0),
                    0);                 /* no customer text: staff only */
    CU_ASSERT_STRING_EQUAL(resume(r, "e", 1, RING_ADMIN, 0),
                           "s2,s3,s4,s5,s6");
    /* an order's channel: its updates only, in the customer's text */
    CU_ASSERT_STRING_EQUAL(resume(r, "e", 1, RING_ORDER, 7), "c3,c5");
    CU_ASSERT_STRING_EQUAL(resume(r, "e", 3, RING_ORDER, 7), "c5");
    CU_ASSERT_STRING_EQUAL(resume(r, "e", 0, RING_ORDER, 8), "c4");
    CU_ASSERT_STRING_EQUAL(resume(r, "e", 2, RING_ORDER, 9), "");
    ring_destroy(r);
}

static void test_wrap_around(void)
{
    ring *r = ring_create(5, RING_DEFAULT_BYTES);
    int64_t i;
    size_t bytes = 0;
    ring_plan plan;

    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    ring_set_epoch(r, "e");
    for (i = 1; i <= 23; i++) {
        add(r, i, 1, RING_STATUS_UPDATE);
    }
    CU_ASSERT_EQUAL(ring_count(r), 5);
    CU_ASSERT_STRING_EQUAL(resume(r, "e", 19, RING_ADMIN, 0),
                           "s20,s21,s22,s23");
    CU_ASSERT_STRING_EQUAL(resume(r, "e", 19, RING_ORDER, 1),
                           "c20,c21,c22,c23");
    CU_ASSERT_STRING_EQUAL(resume(r, "e", 18, RING_ADMIN, 0),
                           "s19,s20,s21,s22,s23");
    CU_ASSERT_STRING_EQUAL(resume(r, "e", 17, RING_ADMIN, 0),
                           "resync:too_old");
    ring_plan_resume(r, "e", 19, 0, &plan);
    CU_ASSERT_EQUAL(ring_replay(r, &plan, RING_ADMIN, 0, NULL, NULL, &bytes),
                    4);
    CU_ASSERT_EQUAL(bytes, 12);
    ring_destroy(r);
}

static void test_losses_and_epochs(void)
{
    ring *r = ring_create(16, RING_DEFAULT_BYTES);

    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    ring_set_epoch(r, "e");
    add(r, 1, 1, RING_NEW_ORDER);
    add(r, 2, 1, RING_NEW_ORDER);
    ring_mark_loss(r, "lost");          /* noticed as 4 arrives */
    add(r, 4, 1, RING_NEW_ORDER);
    add(r, 5, 1, RING_NEW_ORDER);
    /* from before the loss: the client was not there for the resync */
    CU_ASSERT_STRING_EQUAL(resume(r, "e", 2, RING_ADMIN, 0), "resync:lost");
    CU_ASSERT_STRING_EQUAL(resume(r, "e", 0, RING_ADMIN, 0), "resync:lost");
    CU_ASSERT_STRING_EQUAL(resume(r, "e", 3, RING_ADMIN, 0), "resync:lost");
    /* from the event that reported it, or later: it was */
    CU_ASSERT_STRING_EQUAL(resume(r, "e", 4, RING_ADMIN, 0), "s5");
    ring_mark_loss(r, "gap");
    CU_ASSERT_STRING_EQUAL(resume(r, "e", 5, RING_ADMIN, 0), "resync:gap");
    add(r, 6, 1, RING_NEW_ORDER);
    CU_ASSERT_STRING_EQUAL(resume(r, "e", 6, RING_ADMIN, 0), "");

    /* the same epoch changes nothing; another empties the ring */
    CU_ASSERT_EQUAL(ring_set_epoch(r, "e"), 0);
    CU_ASSERT_EQUAL(ring_count(r), 5);
    CU_ASSERT_EQUAL(ring_set_epoch(r, "f"), 1);
    CU_ASSERT_EQUAL(ring_count(r), 0);
    CU_ASSERT_EQUAL(ring_max_seen(r), 0);
    CU_ASSERT_STRING_EQUAL(resume(r, "f", 6, RING_ADMIN, 0),
                           "resync:restarted");
    add(r, 1, 1, RING_NEW_ORDER);
    CU_ASSERT_STRING_EQUAL(resume(r, "f", 0, RING_ADMIN, 0), "s1");
    CU_ASSERT_STRING_EQUAL(resume(r, "e", 1, RING_ADMIN, 0), "resync:epoch");
    ring_destroy(r);
}

static void test_byte_bound(void)
{
    ring *r = ring_create(100, 8);      /* room for two 3-byte texts... */
    int64_t i;

    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    ring_set_epoch(r, "e");
    for (i = 10; i <= 14; i++) {
        add(r, i, 1, RING_NEW_ORDER);   /* 3 bytes each */
    }
    CU_ASSERT_EQUAL(ring_count(r), 2);
    CU_ASSERT_STRING_EQUAL(resume(r, "e", 13, RING_ADMIN, 0), "s14");
    CU_ASSERT_STRING_EQUAL(resume(r, "e", 12, RING_ADMIN, 0), "s13,s14");
    CU_ASSERT_STRING_EQUAL(resume(r, "e", 11, RING_ADMIN, 0),
                           "resync:too_old");
    /* ...and one bigger than the bound is still kept, alone */
    CU_ASSERT_EQUAL(ring_add(r, 15, 1, RING_NEW_ORDER, "0123456789", 10,
                             NULL, 0), 0);
    CU_ASSERT_EQUAL(ring_count(r), 1);
    CU_ASSERT_STRING_EQUAL(resume(r, "e", 14, RING_ADMIN, 0), "0123456789");
    CU_ASSERT_STRING_EQUAL(resume(r, "e", 13, RING_ADMIN, 0),
                           "resync:too_old");
    ring_destroy(r);
}

static void test_bounds(void)
{
    CU_ASSERT_PTR_NULL(ring_create(0, RING_DEFAULT_BYTES));
    CU_ASSERT_PTR_NULL(ring_create(RING_MAX_SIZE + 1, RING_DEFAULT_BYTES));
    ring_destroy(NULL);
}

int add_ring_suite(void)
{
    CU_pSuite s = CU_add_suite("ring.c", NULL, NULL);

    if (!s
        || !CU_add_test(s, "replay in arrival order", test_arrival_order)
        || !CU_add_test(s, "out-of-order ids", test_out_of_order)
        || !CU_add_test(s, "never-issued ids resume", test_gap_resume_point)
        || !CU_add_test(s, "too old, unknown, restarted, epoch",
                        test_resyncs)
        || !CU_add_test(s, "a dropped id that outranks a held one",
                        test_dropped_out_of_order)
        || !CU_add_test(s, "per-channel filtering", test_channels)
        || !CU_add_test(s, "wrap-around", test_wrap_around)
        || !CU_add_test(s, "resume from the start", test_resume_from_the_start)
        || !CU_add_test(s, "losses and epochs", test_losses_and_epochs)
        || !CU_add_test(s, "the byte bound", test_byte_bound)
        || !CU_add_test(s, "sizes", test_bounds)) {
        return -1;
    }
    return 0;
}
