/* SPDX-License-Identifier: Apache-2.0 */
/* test_resume.c -- what a resuming client is owed (ws_resume_decide):
 * nothing, a replay of what it missed, or a resync with its reason. */
#include <stdio.h>
#include <string.h>
#include <CUnit/CUnit.h>
#include "ws_resume.h"

/* Staff text of 40 bytes per event, ids 1..n, on orders 100 + id. */
static ring *ring_of(int n)
{
    ring *r = ring_create(RING_DEFAULT_SIZE, RING_DEFAULT_BYTES);
    char text[41];
    int i;

    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    ring_set_epoch(r, "e1");
    for (i = 1; i <= n; i++) {
        snprintf(text, sizeof text, "%040d", i);
        CU_ASSERT_EQUAL(ring_add(r, i, 100 + i, RING_NEW_ORDER, text, 40,
                                 NULL, 0), 0);
    }
    return r;
}

static hs_request admin_resuming(int64_t last_event)
{
    hs_request hs;

    memset(&hs, 0, sizeof hs);
    hs.channel = HS_CHANNEL_ADMIN;
    hs.epoch = "e1";
    hs.last_event = last_event;
    return hs;
}

static void test_nothing_to_resume(void)
{
    ring *r = ring_of(3);
    hs_request hs = admin_resuming(-1);
    ws_resume_plan p;

    CU_ASSERT_EQUAL(ws_resume_decide(r, &hs, 1 << 20, &p), WS_RESUME_NONE);
    /* up to date: nothing missed */
    hs = admin_resuming(3);
    CU_ASSERT_EQUAL(ws_resume_decide(r, &hs, 1 << 20, &p), WS_RESUME_NONE);
    ring_destroy(r);
}

static void test_replay(void)
{
    ring *r = ring_of(5);
    hs_request hs = admin_resuming(2);
    ws_resume_plan p;

    CU_ASSERT_EQUAL(ws_resume_decide(r, &hs, 1 << 20, &p),
                    WS_RESUME_REPLAY);
    CU_ASSERT_EQUAL(p.count, 3);
    CU_ASSERT_EQUAL(p.channel, RING_ADMIN);
    CU_ASSERT_EQUAL(ring_replay(r, &p.plan, p.channel, p.order_id, NULL,
                                NULL, NULL), 3);
    ring_destroy(r);
}

static void test_resync(void)
{
    ring *r = ring_of(5);
    hs_request hs = admin_resuming(2);
    ws_resume_plan p;

    /* another epoch: at once, whatever the ring holds */
    hs.other_epoch = 1;
    CU_ASSERT_EQUAL(ws_resume_decide(r, &hs, 1 << 20, &p),
                    WS_RESUME_RESYNC);
    CU_ASSERT_STRING_EQUAL(p.reason, "epoch");
    /* a replay bigger than the client's output bound */
    hs.other_epoch = 0;
    CU_ASSERT_EQUAL(ws_resume_decide(r, &hs, 100, &p), WS_RESUME_RESYNC);
    CU_ASSERT_STRING_EQUAL(p.reason, "too_many");
    /* the ring's own verdict, with its reason */
    ring_mark_loss(r, "lost");
    CU_ASSERT_EQUAL(ws_resume_decide(r, &hs, 1 << 20, &p),
                    WS_RESUME_RESYNC);
    CU_ASSERT_PTR_NOT_NULL(p.reason);
    ring_destroy(r);
}

int add_resume_suite(void)
{
    CU_pSuite s = CU_add_suite("ws_resume.c", NULL, NULL);

    if (!s
        || !CU_add_test(s, "nothing to resume", test_nothing_to_resume)
        || !CU_add_test(s, "a replay of what was missed", test_replay)
        || !CU_add_test(s, "resyncs and their reasons", test_resync)) {
        return -1;
    }
    return 0;
}
