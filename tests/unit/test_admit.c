/* SPDX-License-Identifier: Apache-2.0 */
/* test_admit.c -- admission counting: the whole capacity, the share kept
 * for staff, the caps per order and per address (IPv6 by /64, IPv4-mapped
 * as IPv4), places given back, and the answer each refusal maps to. */
#include <string.h>
#include <CUnit/CUnit.h>
#include "admit.h"

/* An upgrade asking for a place under limits "S T O A". */
static admit_request ask(int staff, int64_t order_id, const char *client,
                         int64_t s, int64_t t, int64_t o, int64_t a)
{
    admit_request req;

    memset(&req, 0, sizeof req);
    req.staff = staff;
    req.order_id = order_id;
    req.client = client;
    req.sockets = s;
    req.staff_reserve = t;
    req.per_order = o;
    req.per_address = a;
    return req;
}

static admit *new_admit(void)
{
    admit *a = admit_create();

    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_EQUAL(admit_count(a), 0);
    return a;
}

/* S=5, T=2: customers stop at 3, staff go on to 5. */
static void test_staff_reserve(void)
{
    admit *a = new_admit();
    admit_ticket t[8];
    admit_request customer = ask(0, 9, "192.0.2.1", 5, 2, 0, 0);
    admit_request staff = ask(1, 0, "192.0.2.1", 5, 2, 0, 0);
    int i;

    for (i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL(admit_take(a, &customer, &t[i]), ADMIT_OK);
        CU_ASSERT_TRUE(t[i].held);
        CU_ASSERT_FALSE(t[i].staff);
        CU_ASSERT_EQUAL(t[i].order_id, 9);
        CU_ASSERT_STRING_EQUAL(t[i].address, "4:192.0.2.1");
    }
    CU_ASSERT_EQUAL(admit_take(a, &customer, &t[3]),
                    ADMIT_CUSTOMERS_FULL);
    CU_ASSERT_FALSE(t[3].held);
    CU_ASSERT_EQUAL(admit_count(a), 3);
    CU_ASSERT_EQUAL(admit_count_customers(a), 3);
    /* the staff's share is still there */
    CU_ASSERT_EQUAL(admit_take(a, &staff, &t[3]), ADMIT_OK);
    CU_ASSERT_TRUE(t[3].staff);
    CU_ASSERT_EQUAL(admit_take(a, &staff, &t[4]), ADMIT_OK);
    CU_ASSERT_EQUAL(admit_count(a), 5);
    CU_ASSERT_EQUAL(admit_count_customers(a), 3);
    /* staff leaving does not let a customer into the staff's share */
    admit_release(a, &t[4]);
    CU_ASSERT_EQUAL(admit_take(a, &customer, &t[4]),
                    ADMIT_CUSTOMERS_FULL);
    /* a customer leaving does */
    admit_release(a, &t[0]);
    CU_ASSERT_EQUAL(admit_take(a, &customer, &t[0]), ADMIT_OK);
    admit_destroy(a);

    /* a reserve of everything keeps every customer out */
    a = new_admit();
    customer = ask(0, 9, "192.0.2.1", 2, 2, 0, 0);
    CU_ASSERT_EQUAL(admit_take(a, &customer, &t[0]),
                    ADMIT_CUSTOMERS_FULL);
    customer = ask(0, 9, "192.0.2.1", 2, 5, 0, 0);
    CU_ASSERT_EQUAL(admit_take(a, &customer, &t[0]),
                    ADMIT_CUSTOMERS_FULL);
    CU_ASSERT_EQUAL(admit_count(a), 0);
    admit_destroy(a);
}

/* At S nobody gets in, staff included. */
static void test_full(void)
{
    admit *a = new_admit();
    admit_ticket t[4];
    admit_request staff = ask(1, 0, "192.0.2.1", 3, 1, 0, 0);
    admit_request customer = ask(0, 9, "192.0.2.2", 3, 1, 0, 0);
    int i;

    for (i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL(admit_take(a, &staff, &t[i]), ADMIT_OK);
    }
    CU_ASSERT_EQUAL(admit_take(a, &staff, &t[3]), ADMIT_FULL);
    CU_ASSERT_EQUAL(admit_take(a, &customer, &t[3]), ADMIT_FULL);
    CU_ASSERT_EQUAL(admit_count(a), 3);
    CU_ASSERT_EQUAL(admit_count_customers(a), 0);
    /* no sockets at all */
    staff.sockets = 0;
    admit_release(a, &t[0]);
    CU_ASSERT_EQUAL(admit_take(a, &staff, &t[0]), ADMIT_FULL);
    admit_destroy(a);
}

/* O=2 per order: customers of one order, counted per order; staff are
 * neither capped nor counted, and the admin channel (order 0) has no
 * order to count. */
static void test_per_order(void)
{
    admit *a = new_admit();
    admit_ticket t[8];
    admit_request customer = ask(0, 42, "192.0.2.1", 100, 10, 2, 0);
    admit_request staff = ask(1, 42, "192.0.2.1", 100, 10, 2, 0);
    admit_request elsewhere = ask(0, 43, "192.0.2.1", 100, 10, 2, 0);
    admit_request admin_channel = ask(0, 0, "192.0.2.1", 100, 10, 2, 0);

    CU_ASSERT_EQUAL(admit_take(a, &customer, &t[0]), ADMIT_OK);
    CU_ASSERT_EQUAL(admit_take(a, &customer, &t[1]), ADMIT_OK);
    CU_ASSERT_EQUAL(admit_take(a, &customer, &t[2]), ADMIT_ORDER);
    CU_ASSERT_FALSE(t[2].held);
    CU_ASSERT_EQUAL(admit_take(a, &staff, &t[2]), ADMIT_OK);
    CU_ASSERT_EQUAL(admit_take(a, &staff, &t[3]), ADMIT_OK);
    /* staff took none of the order's places */
    CU_ASSERT_EQUAL(admit_take(a, &customer, &t[4]), ADMIT_ORDER);
    CU_ASSERT_EQUAL(admit_take(a, &elsewhere, &t[4]), ADMIT_OK);
    CU_ASSERT_EQUAL(admit_take(a, &elsewhere, &t[5]), ADMIT_OK);
    CU_ASSERT_EQUAL(admit_take(a, &elsewhere, &t[6]), ADMIT_ORDER);
    CU_ASSERT_EQUAL(admit_take(a, &admin_channel, &t[6]), ADMIT_OK);
    CU_ASSERT_EQUAL(admit_take(a, &admin_channel, &t[7]), ADMIT_OK);
    CU_ASSERT_EQUAL(admit_count(a), 8);
    CU_ASSERT_EQUAL(admit_count_customers(a), 6);
    /* one of the order's customers leaves: one place for it again */
    admit_release(a, &t[0]);
    CU_ASSERT_EQUAL(admit_take(a, &customer, &t[0]), ADMIT_OK);
    CU_ASSERT_EQUAL(admit_take(a, &customer, &t[7]), ADMIT_ORDER);
    /* a staff socket leaving frees nothing of the order's */
    admit_release(a, &t[2]);
    CU_ASSERT_EQUAL(admit_take(a, &customer, &t[2]), ADMIT_ORDER);
    /* 0: no cap */
    customer.per_order = 0;
    CU_ASSERT_EQUAL(admit_take(a, &customer, &t[2]), ADMIT_OK);
    admit_destroy(a);
}

/* A=2 per address: an IPv6 /64 is one address, an IPv4-mapped address is
 * its IPv4 one; staff are not capped. */
static void test_per_address(void)
{
    admit *a = new_admit();
    admit_ticket t[8];
    admit_request r = ask(0, 1, NULL, 100, 0, 0, 2);
    admit_request staff = ask(1, 0, "2001:db8:1:2::1", 100, 0, 0, 2);

    r.client = "2001:db8:1:2::1";
    CU_ASSERT_EQUAL(admit_take(a, &r, &t[0]), ADMIT_OK);
    r.client = "2001:db8:1:2:ffff:ffff:ffff:ffff";
    CU_ASSERT_EQUAL(admit_take(a, &r, &t[1]), ADMIT_OK);
    r.client = "2001:0db8:0001:0002:0:0:0:abcd";      /* same /64, spelt out */
    CU_ASSERT_EQUAL(admit_take(a, &r, &t[2]), ADMIT_ADDRESS);
    CU_ASSERT_FALSE(t[2].held);
    CU_ASSERT_EQUAL(admit_take(a, &staff, &t[2]), ADMIT_OK);
    /* the next /64 is someone else */
    r.client = "2001:db8:1:3::1";
    CU_ASSERT_EQUAL(admit_take(a, &r, &t[3]), ADMIT_OK);

    r.client = "127.0.0.1";
    CU_ASSERT_EQUAL(admit_take(a, &r, &t[4]), ADMIT_OK);
    r.client = "::ffff:127.0.0.1";
    CU_ASSERT_EQUAL(admit_take(a, &r, &t[5]), ADMIT_OK);
    CU_ASSERT_STRING_EQUAL(t[5].address, t[4].address);
    r.client = "127.0.0.1";
    CU_ASSERT_EQUAL(admit_take(a, &r, &t[6]), ADMIT_ADDRESS);
    r.client = "::ffff:127.0.0.1";
    CU_ASSERT_EQUAL(admit_take(a, &r, &t[6]), ADMIT_ADDRESS);
    r.client = "127.0.0.2";
    CU_ASSERT_EQUAL(admit_take(a, &r, &t[6]), ADMIT_OK);
    CU_ASSERT_EQUAL(admit_count(a), 7);
    CU_ASSERT_EQUAL(admit_count_customers(a), 6);

    /* one leaves: one place for that address again, and only one */
    admit_release(a, &t[4]);
    r.client = "::ffff:127.0.0.1";
    CU_ASSERT_EQUAL(admit_take(a, &r, &t[4]), ADMIT_OK);
    CU_ASSERT_EQUAL(admit_take(a, &r, &t[7]), ADMIT_ADDRESS);
    admit_destroy(a);
}

static void test_address_key(void)
{
    char key[ADMIT_KEY_LEN], other[ADMIT_KEY_LEN];
    char longer[200];

    admit_address_key("203.0.113.9", key);
    CU_ASSERT_STRING_EQUAL(key, "4:203.0.113.9");
    admit_address_key("::ffff:203.0.113.9", key);
    CU_ASSERT_STRING_EQUAL(key, "4:203.0.113.9");
    admit_address_key("2001:db8:1:2:3:4:5:6", key);
    CU_ASSERT_STRING_EQUAL(key, "6:2001:db8:1:2::/64");
    admit_address_key("2001:db8:1:2::", other);
    CU_ASSERT_STRING_EQUAL(key, other);
    admit_address_key("2001:db8:1:3:3:4:5:6", other);
    CU_ASSERT_STRING_NOT_EQUAL(key, other);
    admit_address_key("::1", key);
    CU_ASSERT_STRING_EQUAL(key, "6:::/64");
    /* anything else as it is, cut to fit */
    admit_address_key("unix:/run/x", key);
    CU_ASSERT_STRING_EQUAL(key, "?:unix:/run/x");
    admit_address_key("", key);
    CU_ASSERT_STRING_EQUAL(key, "?:");
    memset(longer, 'z', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    admit_address_key(longer, key);
    CU_ASSERT_EQUAL(strlen(key), ADMIT_KEY_LEN - 1);
}

/* take, release, take: the place comes back; releasing what is not held
 * (twice, never taken, refused) changes nothing. */
static void test_release(void)
{
    admit *a = new_admit();
    admit_ticket t, u, never, refused;
    admit_request customer = ask(0, 5, "198.51.100.1", 1, 0, 0, 1);

    CU_ASSERT_EQUAL(admit_take(a, &customer, &t), ADMIT_OK);
    CU_ASSERT_EQUAL(admit_take(a, &customer, &refused), ADMIT_FULL);
    admit_release(a, &t);
    CU_ASSERT_FALSE(t.held);
    CU_ASSERT_EQUAL(admit_count(a), 0);
    CU_ASSERT_EQUAL(admit_count_customers(a), 0);
    CU_ASSERT_EQUAL(admit_take(a, &customer, &u), ADMIT_OK);
    CU_ASSERT_EQUAL(admit_count(a), 1);

    /* harmless: twice, never taken, refused */
    admit_release(a, &t);
    memset(&never, 0, sizeof never);
    admit_release(a, &never);
    admit_release(a, &refused);
    CU_ASSERT_EQUAL(admit_count(a), 1);
    CU_ASSERT_EQUAL(admit_count_customers(a), 1);
    /* and the address still counts its one */
    customer.sockets = 10;
    CU_ASSERT_EQUAL(admit_take(a, &customer, &t), ADMIT_ADDRESS);
    admit_release(a, &u);
    CU_ASSERT_EQUAL(admit_take(a, &customer, &t), ADMIT_OK);
    admit_release(a, &t);
    CU_ASSERT_EQUAL(admit_count(a), 0);
    /* destroying with places still held is fine (ASan: no leak) */
    CU_ASSERT_EQUAL(admit_take(a, &customer, &t), ADMIT_OK);
    admit_destroy(a);
    admit_destroy(NULL);
}

/* U=2 of S=5: the third tunnel is refused, staff or not, while handed-off
 * sockets go on to S; a tunnel given back frees a tunnel's place. */
static void test_tunnels(void)
{
    admit *a = new_admit();
    admit_ticket t[8];
    admit_request tunnel = ask(1, 0, "192.0.2.1", 5, 1, 0, 0);
    admit_request handed = ask(1, 0, "192.0.2.1", 5, 1, 0, 0);
    int i;

    tunnel.tunnelled = 1;
    tunnel.tunnels = 2;
    handed.tunnels = 2;
    for (i = 0; i < 2; i++) {
        CU_ASSERT_EQUAL(admit_take(a, &tunnel, &t[i]), ADMIT_OK);
        CU_ASSERT_TRUE(t[i].tunnelled);
    }
    CU_ASSERT_EQUAL(admit_take(a, &tunnel, &t[2]), ADMIT_TUNNELS_FULL);
    CU_ASSERT_FALSE(t[2].held);
    CU_ASSERT_EQUAL(admit_count_tunnelled(a), 2);
    for (i = 2; i < 5; i++) {
        CU_ASSERT_EQUAL(admit_take(a, &handed, &t[i]), ADMIT_OK);
        CU_ASSERT_FALSE(t[i].tunnelled);
    }
    CU_ASSERT_EQUAL(admit_take(a, &handed, &t[5]), ADMIT_FULL);
    CU_ASSERT_EQUAL(admit_count(a), 5);
    admit_release(a, &t[0]);
    admit_release(a, &t[0]);
    CU_ASSERT_EQUAL(admit_count_tunnelled(a), 1);
    CU_ASSERT_EQUAL(admit_take(a, &tunnel, &t[0]), ADMIT_OK);
    CU_ASSERT_EQUAL(admit_count_tunnelled(a), 2);
    CU_ASSERT_EQUAL(admit_status(ADMIT_TUNNELS_FULL), 503);
    CU_ASSERT_STRING_EQUAL(admit_code(ADMIT_TUNNELS_FULL), "sockets_full");
    CU_ASSERT_EQUAL(admit_retry_after(ADMIT_TUNNELS_FULL), 10);
    for (i = 0; i < 5; i++) {
        admit_release(a, &t[i]);
    }
    CU_ASSERT_EQUAL(admit_count(a), 0);
    CU_ASSERT_EQUAL(admit_count_tunnelled(a), 0);
    admit_destroy(a);
}

static void test_answers(void)
{
    CU_ASSERT_EQUAL(admit_status(ADMIT_ORDER), 429);
    CU_ASSERT_EQUAL(admit_status(ADMIT_ADDRESS), 429);
    CU_ASSERT_EQUAL(admit_status(ADMIT_FULL), 503);
    CU_ASSERT_EQUAL(admit_status(ADMIT_CUSTOMERS_FULL), 503);
    CU_ASSERT_STRING_EQUAL(admit_code(ADMIT_ORDER), "order_sockets_exceeded");
    CU_ASSERT_STRING_EQUAL(admit_code(ADMIT_ADDRESS),
                           "address_sockets_exceeded");
    CU_ASSERT_STRING_EQUAL(admit_code(ADMIT_CUSTOMERS_FULL),
                           "customer_sockets_full");
    CU_ASSERT_STRING_EQUAL(admit_code(ADMIT_FULL), "sockets_full");
    /* a cap of one's own frees later than a place in the whole */
    CU_ASSERT_EQUAL(admit_retry_after(ADMIT_ORDER), 30);
    CU_ASSERT_EQUAL(admit_retry_after(ADMIT_ADDRESS), 30);
    CU_ASSERT_EQUAL(admit_retry_after(ADMIT_FULL), 10);
    CU_ASSERT_EQUAL(admit_retry_after(ADMIT_CUSTOMERS_FULL), 10);
}

int add_admit_suite(void)
{
    CU_pSuite s = CU_add_suite("admit.c", NULL, NULL);

    if (!s
        || !CU_add_test(s, "staff reserve", test_staff_reserve)
        || !CU_add_test(s, "full for everyone at S", test_full)
        || !CU_add_test(s, "per-order cap, staff exempt", test_per_order)
        || !CU_add_test(s, "per-address cap: /64, IPv4-mapped",
                        test_per_address)
        || !CU_add_test(s, "address buckets", test_address_key)
        || !CU_add_test(s, "release gives places back, harmlessly",
                        test_release)
        || !CU_add_test(s, "tunnels' own cap", test_tunnels)
        || !CU_add_test(s, "status, code and Retry-After", test_answers)) {
        return -1;
    }
    return 0;
}
