/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hub.c -- subscriptions and the newest event id per channel.
 *
 * Admin members sit on one list.  Order members sit on a list per order,
 * found through a chained hash table keyed by order id.  The table is our
 * own rather than apr_hash_t: apr_hash needs a pool (and so
 * apr_initialize) and keeps removed entries' memory until the pool dies,
 * while order entries here come and go all day and are plain malloc/free
 * with the hub as their one owner.  Members are embedded in the sessions,
 * so subscribing allocates nothing but (sometimes) an order entry.
 *
 * An order entry outlives its last subscriber when it has carried an
 * event: a customer who connects later is told that event's id in the
 * connection message.  Such idle entries are kept in least-recently-used
 * order and the oldest are dropped past max_idle_orders, so memory stays
 * bounded however many orders a shop takes.  (The replay ring, ring.c,
 * is what answers resumes; this is only the connection message's
 * starting point.)  Sending is left to the caller's hub_send_fn.
 */
#include <stdlib.h>

#include "hub.h"

struct hub_order {
    int64_t id;
    int64_t last_event;         /* 0: none carried yet */
    hub_member *members;
    size_t n;
    hub_order *chain;           /* next in the hash bucket */
    hub_order *idle_prev, *idle_next;
    int idle;                   /* on the idle list */
};

struct hub {
    hub_member *admins;
    size_t n_admin, n_order;
    int64_t last_admin;

    hub_order **buckets;
    size_t nbuckets;            /* a power of two */
    size_t norders;

    hub_order *idle_head, *idle_tail;   /* head: least recently used */
    size_t nidle, max_idle;
    int walking;                /* hub_fanout_orders is in the table */
};

#define HUB_FIRST_BUCKETS 64

/* splitmix64's finaliser: order ids are sequential, and the low bits of a
 * sequence would otherwise all land next to each other. */
static size_t hash_id(int64_t id, size_t nbuckets)
{
    uint64_t x = (uint64_t)id;

    x ^= x >> 30;
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 27;
    x *= UINT64_C(0x94d049bb133111eb);
    x ^= x >> 31;
    return (size_t)(x & (nbuckets - 1));
}

hub *hub_create(size_t max_idle_orders)
{
    hub *h = calloc(1, sizeof *h);

    if (!h) {
        return NULL;
    }
    h->nbuckets = HUB_FIRST_BUCKETS;
    /* An array of pointers: sizeof a pointer is meant. */
    /* NOLINTNEXTLINE(bugprone-sizeof-expression) */
    h->buckets = calloc(h->nbuckets, sizeof *h->buckets);
    if (!h->buckets) {
        free(h);
        return NULL;
    }
    h->max_idle = max_idle_orders;
    return h;
}

void hub_destroy(hub *h)
{
    size_t i;

    if (!h) {
        return;
    }
    for (i = 0; i < h->nbuckets; i++) {
        hub_order *o = h->buckets[i], *next;

        for (; o; o = next) {
            next = o->chain;
            free(o);
        }
    }
    free(h->buckets);
    free(h);
}

static hub_order *find_order(const hub *h, int64_t id)
{
    hub_order *o = h->buckets[hash_id(id, h->nbuckets)];

    while (o && o->id != id) {
        o = o->chain;
    }
    return o;
}

/* Doubles the table.  Failing to grow is not an error: chains just get
 * longer. */
static void grow(hub *h)
{
    size_t n = h->nbuckets * 2, i;
    /* NOLINTNEXTLINE(bugprone-sizeof-expression): array of pointers */
    hub_order **b = calloc(n, sizeof *b);

    if (!b) {
        return;
    }
    for (i = 0; i < h->nbuckets; i++) {
        hub_order *o = h->buckets[i], *next;

        for (; o; o = next) {
            size_t k = hash_id(o->id, n);

            next = o->chain;
            o->chain = b[k];
            b[k] = o;
        }
    }
    free(h->buckets);
    h->buckets = b;
    h->nbuckets = n;
}

static hub_order *get_order(hub *h, int64_t id)
{
    hub_order *o = find_order(h, id);
    size_t k;

    if (o) {
        return o;
    }
    o = calloc(1, sizeof *o);
    if (!o) {
        return NULL;
    }
    o->id = id;
    k = hash_id(id, h->nbuckets);
    o->chain = h->buckets[k];
    h->buckets[k] = o;
    if (++h->norders > h->nbuckets) {
        grow(h);
    }
    return o;
}

static void free_order(hub *h, hub_order *o)
{
    hub_order **link = &h->buckets[hash_id(o->id, h->nbuckets)];

    while (*link != o) {
        link = &(*link)->chain;
    }
    *link = o->chain;
    h->norders--;
    free(o);
}

static void idle_unlink(hub *h, hub_order *o)
{
    if (o->idle_prev) {
        o->idle_prev->idle_next = o->idle_next;
    }
    else {
        h->idle_head = o->idle_next;
    }
    if (o->idle_next) {
        o->idle_next->idle_prev = o->idle_prev;
    }
    else {
        h->idle_tail = o->idle_prev;
    }
    o->idle_prev = o->idle_next = NULL;
    o->idle = 0;
    h->nidle--;
}

/* Puts o at the recently-used end of the idle list, then drops the least
 * recently used entries beyond the limit (possibly o itself). */
static void trim_idle(hub *h);

static void idle_touch(hub *h, hub_order *o)
{
    if (o->idle) {
        idle_unlink(h, o);
    }
    o->idle_prev = h->idle_tail;
    o->idle_next = NULL;
    if (h->idle_tail) {
        h->idle_tail->idle_next = o;
    }
    else {
        h->idle_head = o;
    }
    h->idle_tail = o;
    o->idle = 1;
    h->nidle++;
    trim_idle(h);
}

/* Drops the least recently used idle entries beyond the limit -- but not
 * while hub_fanout_orders walks the table, where a dropped entry could be
 * the next one it visits; it trims when done. */
static void trim_idle(hub *h)
{
    if (h->walking) {
        return;
    }
    while (h->nidle > h->max_idle) {
        hub_order *old = h->idle_head;

        idle_unlink(h, old);
        free_order(h, old);
    }
}

static void link_member(hub_member **head, hub_member *m)
{
    m->prev = NULL;
    m->next = *head;
    if (*head) {
        (*head)->prev = m;
    }
    *head = m;
}

static void unlink_member(hub_member **head, hub_member *m)
{
    if (m->prev) {
        m->prev->next = m->next;
    }
    else {
        *head = m->next;
    }
    if (m->next) {
        m->next->prev = m->prev;
    }
    m->prev = m->next = NULL;
}

int hub_add_admin(hub *h, hub_member *m, void *owner)
{
    if (m->channel != HUB_NONE) {
        return -1;
    }
    m->owner = owner;
    m->order = NULL;
    m->channel = HUB_ADMIN;
    link_member(&h->admins, m);
    h->n_admin++;
    return 0;
}

int hub_add_order(hub *h, hub_member *m, void *owner, int64_t order_id)
{
    hub_order *o;

    if (m->channel != HUB_NONE) {
        return -1;
    }
    o = get_order(h, order_id);
    if (!o) {
        return -1;
    }
    if (o->idle) {
        idle_unlink(h, o);
    }
    m->owner = owner;
    m->order = o;
    m->channel = HUB_ORDER;
    link_member(&o->members, m);
    o->n++;
    h->n_order++;
    return 0;
}

void hub_forget(hub *h, hub_member *m)
{
    hub_order *o;

    switch (m->channel) {
    case HUB_ADMIN:
        unlink_member(&h->admins, m);
        h->n_admin--;
        break;
    case HUB_ORDER:
        o = m->order;
        unlink_member(&o->members, m);
        o->n--;
        h->n_order--;
        if (o->n == 0) {
            if (o->last_event) {
                idle_touch(h, o);
            }
            else {
                free_order(h, o);
            }
        }
        break;
    default:
        return;
    }
    m->channel = HUB_NONE;
    m->order = NULL;
}

/* The next pointer is read before calling fn, so fn may forget the member
 * it was handed. */
static size_t fanout(hub_member *m, const char *msg, size_t len,
                     hub_send_fn *fn, void *baton)
{
    size_t count = 0;
    hub_member *next;

    for (; m; m = next) {
        next = m->next;
        fn(m->owner, msg, len, baton);
        count++;
    }
    return count;
}

size_t hub_fanout_admin(hub *h, const char *msg, size_t len,
                        hub_send_fn *fn, void *baton)
{
    return fanout(h->admins, msg, len, fn, baton);
}

size_t hub_fanout_order(hub *h, int64_t order_id, const char *msg,
                        size_t len, hub_send_fn *fn, void *baton)
{
    hub_order *o = find_order(h, order_id);

    return o ? fanout(o->members, msg, len, fn, baton) : 0;
}

/* The next entry is read before an order's members are handed the
 * message: one that leaves may free its own (emptied) entry, and trimming
 * the idle list, which could free any other, waits until the end. */
size_t hub_fanout_orders(hub *h, const char *msg, size_t len,
                         hub_send_fn *fn, void *baton)
{
    size_t i, count = 0;

    h->walking = 1;
    for (i = 0; i < h->nbuckets; i++) {
        hub_order *o = h->buckets[i], *next;

        for (; o; o = next) {
            next = o->chain;
            count += fanout(o->members, msg, len, fn, baton);
        }
    }
    h->walking = 0;
    trim_idle(h);
    return count;
}

/* "Newest" is the most recently received, not the highest id: replay
 * follows the order in which events arrived, so the last one carried is
 * the point after which a resume must pick up. */
int hub_note_event(hub *h, int64_t order_id, int64_t event_id)
{
    hub_order *o;

    h->last_admin = event_id;
    o = get_order(h, order_id);
    if (!o) {
        return -1;
    }
    o->last_event = event_id;
    if (o->n == 0) {
        idle_touch(h, o);
    }
    return 0;
}

/* Idle entries exist only to remember an event id, so they go too. */
void hub_forget_events(hub *h)
{
    size_t i;

    h->last_admin = 0;
    for (i = 0; i < h->nbuckets; i++) {
        hub_order *o = h->buckets[i], *next;

        for (; o; o = next) {
            next = o->chain;
            o->last_event = 0;
            if (o->idle) {
                idle_unlink(h, o);
                free_order(h, o);
            }
        }
    }
}

int64_t hub_last_admin(const hub *h)
{
    return h->last_admin;
}

int64_t hub_last_order(const hub *h, int64_t order_id)
{
    hub_order *o = find_order(h, order_id);

    return o ? o->last_event : 0;
}

size_t hub_count_admin(const hub *h)
{
    return h->n_admin;
}

size_t hub_count_order(const hub *h)
{
    return h->n_order;
}

size_t hub_count_orders(const hub *h)
{
    return h->norders;
}

size_t hub_count_order_members(const hub *h, int64_t order_id)
{
    const hub_order *o = find_order(h, order_id);

    return o ? o->n : 0;
}
