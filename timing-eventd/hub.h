/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hub.h -- who is subscribed to what: the admin channel (every event) and
 * order channels (one order's events), plus the newest event id each
 * channel has carried.
 *
 * The hub borrows sessions and never frees or writes to them: a session
 * embeds a hub_member, joins with hub_add_*, and calls hub_forget before it
 * goes away.  Fan-out hands each matching session to a caller's function,
 * so this file needs no sockets, wslay or loop and is unit-tested alone.
 */
#ifndef TIMING_HUB_H
#define TIMING_HUB_H

#include <stddef.h>
#include <stdint.h>

/* How many orders without subscribers the hub keeps remembering (their
 * newest event id, for a customer who connects later). */
#define HUB_DEFAULT_IDLE_ORDERS 65536

typedef struct hub hub;
typedef struct hub_order hub_order;

enum hub_channel {
    HUB_NONE = 0,
    HUB_ADMIN,
    HUB_ORDER
};

/* Embedded in the subscriber; the hub links it.  Zero it before first
 * use (channel HUB_NONE means "not subscribed"). */
typedef struct hub_member {
    struct hub_member *prev, *next;
    hub_order *order;           /* HUB_ORDER: the order's entry */
    void *owner;                /* handed back to the fan-out function */
    int channel;                /* enum hub_channel */
} hub_member;

/* Called once per matching member.  It may hub_forget its own member
 * (a session it closes), but must not add or forget any other. */
typedef void hub_send_fn(void *owner, const char *msg, size_t len,
                         void *baton);

hub *hub_create(size_t max_idle_orders);
void hub_destroy(hub *h);

/* 0, or -1 when out of memory or m is already subscribed. */
int hub_add_admin(hub *h, hub_member *m, void *owner);
int hub_add_order(hub *h, hub_member *m, void *owner, int64_t order_id);
/* Unsubscribes m; harmless when it is not subscribed. */
void hub_forget(hub *h, hub_member *m);

/* Hands msg to every admin member / every member of one order; returns
 * how many were handed it. */
size_t hub_fanout_admin(hub *h, const char *msg, size_t len,
                        hub_send_fn *fn, void *baton);
size_t hub_fanout_order(hub *h, int64_t order_id, const char *msg,
                        size_t len, hub_send_fn *fn, void *baton);
/* Hands msg to every member of every order (a resync, when which order
 * missed something cannot be known). */
size_t hub_fanout_orders(hub *h, const char *msg, size_t len,
                         hub_send_fn *fn, void *baton);

/* Records that event_id, about order_id, has just been carried; 0 or -1
 * when out of memory (then only the admin figure is updated). */
int hub_note_event(hub *h, int64_t order_id, int64_t event_id);
/* Forgets every event id noted (the event history changed epoch). */
void hub_forget_events(hub *h);
/* The id of the event each channel carried most recently, 0 if none. */
int64_t hub_last_admin(const hub *h);
int64_t hub_last_order(const hub *h, int64_t order_id);

size_t hub_count_admin(const hub *h);
size_t hub_count_order(const hub *h);     /* members over all orders */
size_t hub_count_orders(const hub *h);    /* order entries held */
size_t hub_count_order_members(const hub *h, int64_t order_id);

#endif /* TIMING_HUB_H */
