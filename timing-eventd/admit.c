/* SPDX-License-Identifier: Apache-2.0 */
/*
 * admit.c -- counting sockets against the upgrade's limits (admit.h).
 *
 * Customers are the ones capped: one tracking token must not be able to
 * take every socket and lock the staff out.  So a customer may not take
 * the places kept for staff, nor more than per_order sockets on one
 * order, nor more than per_address from one address (generous: a food
 * court shares one NAT address; the per-order cap is the real guard).
 * Staff are limited only by the whole capacity, and are not counted in an
 * order's or an address's share.  A tunnelled socket holds one of
 * Apache's worker threads: tunnels have a cap of their own, whoever asks,
 * so that sockets never take the workers REST needs.  Addresses and orders are counted in
 * tsearch(3) trees: libc's, with deletion, and no pool to keep.
 */
#include <arpa/inet.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admit.h"

typedef struct address_count {
    char key[ADMIT_KEY_LEN];
    size_t n;
} address_count;

typedef struct order_count {
    int64_t id;
    size_t n;
} order_count;

struct admit {
    size_t total, customers, tunnelled;
    void *addresses;            /* tsearch root of address_count */
    void *orders;               /* tsearch root of order_count */
};

static int compare_address(const void *a, const void *b)
{
    return strcmp(((const address_count *)a)->key,
                  ((const address_count *)b)->key);
}

static int compare_order(const void *a, const void *b)
{
    int64_t x = ((const order_count *)a)->id;
    int64_t y = ((const order_count *)b)->id;

    return x < y ? -1 : x > y;
}

admit *admit_create(void)
{
    return calloc(1, sizeof(admit));
}

void admit_destroy(admit *a)
{
    if (a) {
        tdestroy(a->addresses, free);
        tdestroy(a->orders, free);
        free(a);
    }
}

void admit_address_key(const char *client, char out[ADMIT_KEY_LEN])
{
    struct in6_addr a6;
    struct in_addr a4;
    char text[INET6_ADDRSTRLEN];

    if (inet_pton(AF_INET, client, &a4) == 1) {
        snprintf(out, ADMIT_KEY_LEN, "4:%s", client);
        return;
    }
    if (inet_pton(AF_INET6, client, &a6) == 1) {
        if (IN6_IS_ADDR_V4MAPPED(&a6)) {
            memcpy(&a4, &a6.s6_addr[12], 4);
            inet_ntop(AF_INET, &a4, text, sizeof text);
            snprintf(out, ADMIT_KEY_LEN, "4:%s", text);
            return;
        }
        /* One subscriber gets a whole /64: count the network. */
        memset(&a6.s6_addr[8], 0, 8);
        inet_ntop(AF_INET6, &a6, text, sizeof text);
        snprintf(out, ADMIT_KEY_LEN, "6:%s/64", text);
        return;
    }
    snprintf(out, ADMIT_KEY_LEN, "?:%s", client);
}

static address_count *find_address(const admit *a, const char *key)
{
    address_count probe, **found;

    snprintf(probe.key, sizeof probe.key, "%s", key);
    found = tfind(&probe, &a->addresses, compare_address);
    return found ? *found : NULL;
}

static order_count *find_order(const admit *a, int64_t id)
{
    order_count probe, **found;

    probe.id = id;
    found = tfind(&probe, &a->orders, compare_order);
    return found ? *found : NULL;
}

/* The entry of a key in a tree, made (with n = 0) when missing; NULL when
 * out of memory. */
static void *entry(void **root, const void *probe, size_t size,
                   int (*compare)(const void *, const void *))
{
    void **found = tfind(probe, root, compare), *made;

    if (found) {
        return *found;
    }
    made = calloc(1, size);
    if (!made) {
        return NULL;
    }
    memcpy(made, probe, size);
    if (!tsearch(made, root, compare)) {
        free(made);
        return NULL;
    }
    return made;
}

int admit_take(admit *a, const admit_request *req, admit_ticket *t)
{
    address_count *ac, probe_a;
    order_count *oc = NULL, probe_o;

    memset(t, 0, sizeof *t);
    if ((int64_t)a->total >= req->sockets) {
        return ADMIT_FULL;
    }
    if (req->tunnelled && (int64_t)a->tunnelled >= req->tunnels) {
        return ADMIT_TUNNELS_FULL;
    }
    if (!req->staff) {
        if ((int64_t)a->customers >= req->sockets - req->staff_reserve) {
            return ADMIT_CUSTOMERS_FULL;
        }
        oc = req->order_id > 0 ? find_order(a, req->order_id) : NULL;
        if (req->per_order > 0 && oc && (int64_t)oc->n >= req->per_order) {
            return ADMIT_ORDER;
        }
        memset(&probe_a, 0, sizeof probe_a);
        admit_address_key(req->client ? req->client : "", probe_a.key);
        ac = find_address(a, probe_a.key);
        if (req->per_address > 0 && ac
            && (int64_t)ac->n >= req->per_address) {
            return ADMIT_ADDRESS;
        }
        /* Counted from here on; out of memory refuses like a full house. */
        ac = entry(&a->addresses, &probe_a, sizeof probe_a, compare_address);
        if (!ac) {
            return ADMIT_FULL;
        }
        if (req->order_id > 0) {
            memset(&probe_o, 0, sizeof probe_o);
            probe_o.id = req->order_id;
            oc = entry(&a->orders, &probe_o, sizeof probe_o, compare_order);
            if (!oc) {
                if (ac->n == 0) {
                    tdelete(ac, &a->addresses, compare_address);
                    free(ac);
                }
                return ADMIT_FULL;
            }
            oc->n++;
        }
        ac->n++;
        memcpy(t->address, probe_a.key, sizeof probe_a.key);
        a->customers++;
    }
    a->total++;
    if (req->tunnelled) {
        a->tunnelled++;
        t->tunnelled = 1;
    }
    t->held = 1;
    t->staff = req->staff;
    t->order_id = req->order_id;
    return ADMIT_OK;
}

void admit_release(admit *a, admit_ticket *t)
{
    if (!t->held) {
        return;
    }
    t->held = 0;
    a->total--;
    if (t->tunnelled) {
        a->tunnelled--;
    }
    if (!t->staff) {
        address_count *ac = find_address(a, t->address);
        order_count *oc = t->order_id > 0 ? find_order(a, t->order_id)
                                          : NULL;

        a->customers--;
        if (ac && --ac->n == 0) {
            tdelete(ac, &a->addresses, compare_address);
            free(ac);
        }
        if (oc && --oc->n == 0) {
            tdelete(oc, &a->orders, compare_order);
            free(oc);
        }
    }
}

size_t admit_count(const admit *a)
{
    return a->total;
}

size_t admit_count_customers(const admit *a)
{
    return a->customers;
}

size_t admit_count_tunnelled(const admit *a)
{
    return a->tunnelled;
}

int admit_status(int result)
{
    return result == ADMIT_ORDER || result == ADMIT_ADDRESS ? 429 : 503;
}

const char *admit_code(int result)
{
    switch (result) {
    case ADMIT_ORDER:
        return "order_sockets_exceeded";
    case ADMIT_ADDRESS:
        return "address_sockets_exceeded";
    case ADMIT_CUSTOMERS_FULL:
        return "customer_sockets_full";
    default:
        return "sockets_full";
    }
}

/* A place frees when some socket closes: soon on a busy server, while a
 * cap of one's own frees only when one's own tab closes. */
int admit_retry_after(int result)
{
    return result == ADMIT_ORDER || result == ADMIT_ADDRESS ? 30 : 10;
}
