/* SPDX-License-Identifier: Apache-2.0 */
/* test_hub.c -- subscriptions: add and forget, fan-out to the admin
 * channel and to one order only, counts, the newest event per channel, and
 * the bound on remembered orders. */
#include <string.h>
#include <CUnit/CUnit.h>
#include "hub.h"

typedef struct fake_session {
    hub_member m;
    int hits;
    char last[32];
} fake_session;

static void record(void *owner, const char *msg, size_t len, void *baton)
{
    fake_session *s = owner;

    (void)baton;
    s->hits++;
    if (len < sizeof s->last) {
        memcpy(s->last, msg, len);
        s->last[len] = '\0';
    }
}

/* Forgets the member it is handed, as a session closing mid-fan-out does. */
static void record_and_leave(void *owner, const char *msg, size_t len,
                             void *baton)
{
    fake_session *s = owner;

    record(owner, msg, len, NULL);
    hub_forget(baton, &s->m);
}

static void test_add_forget_counts(void)
{
    hub *h = hub_create(HUB_DEFAULT_IDLE_ORDERS);
    fake_session a, b, c;

    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    memset(&c, 0, sizeof c);
    CU_ASSERT_EQUAL(hub_add_admin(h, &a.m, &a), 0);
    CU_ASSERT_EQUAL(hub_add_order(h, &b.m, &b, 5), 0);
    CU_ASSERT_EQUAL(hub_add_order(h, &c.m, &c, 6), 0);
    CU_ASSERT_EQUAL(hub_count_admin(h), 1);
    CU_ASSERT_EQUAL(hub_count_order(h), 2);
    CU_ASSERT_EQUAL(hub_count_orders(h), 2);
    /* a member subscribes once */
    CU_ASSERT_EQUAL(hub_add_admin(h, &a.m, &a), -1);
    CU_ASSERT_EQUAL(hub_add_order(h, &b.m, &b, 7), -1);
    CU_ASSERT_EQUAL(hub_count_order(h), 2);

    hub_forget(h, &a.m);
    hub_forget(h, &a.m);                /* twice is harmless */
    CU_ASSERT_EQUAL(a.m.channel, HUB_NONE);
    CU_ASSERT_EQUAL(hub_count_admin(h), 0);
    hub_forget(h, &b.m);
    CU_ASSERT_EQUAL(hub_count_order(h), 1);
    /* an order that never carried an event is not remembered */
    CU_ASSERT_EQUAL(hub_count_orders(h), 1);
    /* and a forgotten member may subscribe again */
    CU_ASSERT_EQUAL(hub_add_admin(h, &b.m, &b), 0);
    CU_ASSERT_EQUAL(hub_count_admin(h), 1);
    hub_destroy(h);
}

static void test_fanout(void)
{
    hub *h = hub_create(HUB_DEFAULT_IDLE_ORDERS);
    fake_session s[6];
    int i;

    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    memset(s, 0, sizeof s);
    hub_add_admin(h, &s[0].m, &s[0]);
    hub_add_admin(h, &s[1].m, &s[1]);
    hub_add_order(h, &s[2].m, &s[2], 1);
    hub_add_order(h, &s[3].m, &s[3], 1);
    hub_add_order(h, &s[4].m, &s[4], 2);
    /* s[5] never subscribes */

    CU_ASSERT_EQUAL(hub_fanout_admin(h, "staff", 5, record, NULL), 2);
    CU_ASSERT_EQUAL(s[0].hits, 1);
    CU_ASSERT_EQUAL(s[1].hits, 1);
    CU_ASSERT_STRING_EQUAL(s[0].last, "staff");
    for (i = 2; i < 6; i++) {
        CU_ASSERT_EQUAL(s[i].hits, 0);
    }

    CU_ASSERT_EQUAL(hub_fanout_order(h, 1, "cust1", 5, record, NULL), 2);
    CU_ASSERT_EQUAL(s[2].hits, 1);
    CU_ASSERT_EQUAL(s[3].hits, 1);
    CU_ASSERT_STRING_EQUAL(s[3].last, "cust1");
    CU_ASSERT_EQUAL(s[4].hits, 0);      /* another order's customer */
    CU_ASSERT_EQUAL(s[0].hits, 1);      /* staff get the staff message */

    CU_ASSERT_EQUAL(hub_fanout_order(h, 2, "cust2", 5, record, NULL), 1);
    CU_ASSERT_EQUAL(s[4].hits, 1);
    CU_ASSERT_EQUAL(hub_fanout_order(h, 3, "nobody", 6, record, NULL), 0);
    CU_ASSERT_EQUAL(s[5].hits, 0);

    hub_forget(h, &s[2].m);
    CU_ASSERT_EQUAL(hub_fanout_order(h, 1, "again", 5, record, NULL), 1);
    CU_ASSERT_EQUAL(s[2].hits, 1);
    CU_ASSERT_EQUAL(s[3].hits, 2);

    /* members that leave while being handed the message */
    CU_ASSERT_EQUAL(hub_fanout_admin(h, "bye", 3, record_and_leave, h), 2);
    CU_ASSERT_EQUAL(hub_count_admin(h), 0);
    CU_ASSERT_EQUAL(hub_fanout_order(h, 1, "bye", 3, record_and_leave, h), 1);
    CU_ASSERT_EQUAL(hub_count_order(h), 1);
    CU_ASSERT_EQUAL(hub_fanout_admin(h, "x", 1, record, NULL), 0);
    hub_destroy(h);
}

static void test_last_event(void)
{
    hub *h = hub_create(HUB_DEFAULT_IDLE_ORDERS);
    fake_session a;

    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    memset(&a, 0, sizeof a);
    CU_ASSERT_EQUAL(hub_last_admin(h), 0);
    CU_ASSERT_EQUAL(hub_last_order(h, 1), 0);
    hub_add_order(h, &a.m, &a, 1);
    CU_ASSERT_EQUAL(hub_note_event(h, 1, 10), 0);
    CU_ASSERT_EQUAL(hub_note_event(h, 2, 11), 0);
    CU_ASSERT_EQUAL(hub_last_admin(h), 11);
    CU_ASSERT_EQUAL(hub_last_order(h, 1), 10);
    CU_ASSERT_EQUAL(hub_last_order(h, 2), 11);
    CU_ASSERT_EQUAL(hub_last_order(h, 3), 0);
    /* the most recently received, as replay follows arrival order */
    CU_ASSERT_EQUAL(hub_note_event(h, 1, 9), 0);
    CU_ASSERT_EQUAL(hub_last_admin(h), 9);
    CU_ASSERT_EQUAL(hub_last_order(h, 1), 9);
    /* an order keeps its figure after its last subscriber leaves */
    hub_forget(h, &a.m);
    CU_ASSERT_EQUAL(hub_last_order(h, 1), 9);
    CU_ASSERT_EQUAL(hub_add_order(h, &a.m, &a, 1), 0);
    CU_ASSERT_EQUAL(hub_last_order(h, 1), 9);
    hub_destroy(h);
}

static void test_idle_bound(void)
{
    hub *h = hub_create(2);
    fake_session a;

    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    memset(&a, 0, sizeof a);
    hub_note_event(h, 1, 101);
    hub_note_event(h, 2, 102);
    hub_note_event(h, 3, 103);          /* order 1 is the oldest: dropped */
    CU_ASSERT_EQUAL(hub_count_orders(h), 2);
    CU_ASSERT_EQUAL(hub_last_order(h, 1), 0);
    CU_ASSERT_EQUAL(hub_last_order(h, 2), 102);
    CU_ASSERT_EQUAL(hub_last_order(h, 3), 103);
    /* an order with a subscriber is never dropped */
    hub_add_order(h, &a.m, &a, 2);
    hub_note_event(h, 4, 104);
    hub_note_event(h, 5, 105);
    CU_ASSERT_EQUAL(hub_last_order(h, 2), 102);
    CU_ASSERT_EQUAL(hub_last_order(h, 3), 0);
    CU_ASSERT_EQUAL(hub_count_orders(h), 3);
    /* leaving makes it the most recently used idle order */
    hub_forget(h, &a.m);
    CU_ASSERT_EQUAL(hub_count_orders(h), 2);
    CU_ASSERT_EQUAL(hub_last_order(h, 2), 102);
    CU_ASSERT_EQUAL(hub_last_order(h, 5), 105);
    CU_ASSERT_EQUAL(hub_last_order(h, 4), 0);
    hub_destroy(h);
}

static void test_many_orders(void)
{
    enum { N = 3000 };
    static fake_session s[N];
    hub *h = hub_create(HUB_DEFAULT_IDLE_ORDERS);
    int i, ok = 1;

    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    memset(s, 0, sizeof s);
    for (i = 0; i < N; i++) {
        ok &= hub_add_order(h, &s[i].m, &s[i], (int64_t)i * 7919 + 1) == 0;
    }
    CU_ASSERT_TRUE(ok);
    CU_ASSERT_EQUAL(hub_count_orders(h), N);
    for (i = 0; i < N; i++) {
        ok &= hub_fanout_order(h, (int64_t)i * 7919 + 1, "m", 1, record,
                               NULL) == 1;
        ok &= s[i].hits == 1;
    }
    CU_ASSERT_TRUE(ok);
    for (i = 0; i < N; i += 2) {
        hub_forget(h, &s[i].m);
    }
    CU_ASSERT_EQUAL(hub_count_order(h), N / 2);
    CU_ASSERT_EQUAL(hub_count_orders(h), N / 2);
    hub_destroy(h);                     /* members left in: still clean */
}

/* A resync goes to every order's members; members that leave during it
 * (slow clients) do not upset the walk, and the idle bound holds after. */
static void test_fanout_orders(void)
{
    hub *h = hub_create(1);
    fake_session s[5];
    int i;

    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    memset(s, 0, sizeof s);
    hub_add_admin(h, &s[0].m, &s[0]);
    for (i = 1; i < 5; i++) {
        hub_add_order(h, &s[i].m, &s[i], 10 + i);
        hub_note_event(h, 10 + i, 100 + i);
    }
    CU_ASSERT_EQUAL(hub_fanout_orders(h, "r", 1, record_and_leave, h), 4);
    CU_ASSERT_EQUAL(s[0].hits, 0);
    for (i = 1; i < 5; i++) {
        CU_ASSERT_EQUAL(s[i].hits, 1);
    }
    CU_ASSERT_EQUAL(hub_count_order(h), 0);
    /* four orders went idle during the walk; one may stay remembered */
    CU_ASSERT_EQUAL(hub_count_orders(h), 1);
    CU_ASSERT_EQUAL(hub_fanout_orders(h, "r", 1, record, NULL), 0);
    /* a new epoch: no id is remembered, nor an order kept for one */
    hub_add_order(h, &s[1].m, &s[1], 11);
    hub_note_event(h, 11, 200);
    hub_forget_events(h);
    CU_ASSERT_EQUAL(hub_last_admin(h), 0);
    CU_ASSERT_EQUAL(hub_last_order(h, 11), 0);
    CU_ASSERT_EQUAL(hub_count_orders(h), 1);        /* 11: a member left */
    hub_forget(h, &s[1].m);
    CU_ASSERT_EQUAL(hub_count_orders(h), 0);
    hub_destroy(h);
}

int add_hub_suite(void)
{
    CU_pSuite s = CU_add_suite("hub.c", NULL, NULL);

    if (!s
        || !CU_add_test(s, "add, forget, counts", test_add_forget_counts)
        || !CU_add_test(s, "fan-out to admins and to one order",
                        test_fanout)
        || !CU_add_test(s, "newest event per channel", test_last_event)
        || !CU_add_test(s, "remembered orders are bounded", test_idle_bound)
        || !CU_add_test(s, "thousands of orders", test_many_orders)
        || !CU_add_test(s, "fan-out to every order", test_fanout_orders)) {
        return -1;
    }
    return 0;
}
