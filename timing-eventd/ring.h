/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ring.h -- the replay ring: the most recent events in the order the
 * daemon received them, and the decision of what a resuming client gets.
 *
 * Pure: no sockets, wslay or loop, so the unit tests drive it directly.
 * The ring owns a copy of every text it holds.  Sending the replay, and
 * the resync when there is none, is ws_session.c's job (ws_resume.c
 * picks which); feeding the ring is events.c's.
 */
#ifndef TIMING_RING_H
#define TIMING_RING_H

#include <stddef.h>
#include <stdint.h>

#define RING_DEFAULT_SIZE   4096
#define RING_MAX_SIZE       (1024 * 1024)
#define RING_DEFAULT_BYTES  (64 * 1024 * 1024)

typedef struct ring ring;

enum ring_type {
    RING_NEW_ORDER = 1,         /* staff only */
    RING_STATUS_UPDATE          /* staff, and the order's customer */
};

enum ring_channel {
    RING_ADMIN = 1,             /* every event, staff text */
    RING_ORDER                  /* one order's updates, customer text */
};

/* What a resume gets: a replay (possibly of nothing), or a resync. */
typedef struct ring_plan {
    int resync;                 /* 1: no replay is possible */
    const char *reason;         /* resync: a constant, e.g. "too_old" */
    int64_t from_seq;           /* replay: first arrival to look at */
    int by_id;                  /* replay: only ids above above_id */
    int64_t above_id;
} ring_plan;

/* Called once per replayed message, in arrival order. */
typedef void ring_visit_fn(const char *msg, size_t len, void *baton);

/* capacity in events, 1 to RING_MAX_SIZE, and a bound on the bytes of
 * text held (the newest event is kept even past it); NULL when out of
 * memory. */
ring *ring_create(size_t capacity, size_t max_bytes);
void ring_destroy(ring *r);

/* Sets the history the events belong to.  Another epoch than the one
 * held empties the ring and forgets every id seen: 1 when that happened,
 * 0 when unchanged, -1 when out of memory (the ring is then empty and
 * epoch-less, so every resume with an id gets a resync). */
int ring_set_epoch(ring *r, const char *epoch);

/* Stores a copy of one event as it was sent: staff text always, customer
 * text or NULL.  When out of memory the event is not kept and the ring
 * marks a loss, so resumes from before it get a resync: 0 or -1. */
int ring_add(ring *r, int64_t event_id, int64_t order_id, int type,
             const char *staff, size_t staff_len,
             const char *customer, size_t customer_len);

/* Something the ring cannot hold was missed (a lost notification, a gap
 * that never filled): every resume from a point received before now gets
 * a resync with this reason (a constant string). */
void ring_mark_loss(ring *r, const char *reason);

/* Decides what a client that saw everything up to last_event_id n (0: it
 * saw none) gets.  epoch is the database's current one, or NULL; newest
 * the database's newest event the channel may see (0: none or unknown). */
void ring_plan_resume(const ring *r, const char *epoch, int64_t n,
                      int64_t newest,
                      ring_plan *plan);

/* Hands the replay of a plan to fn for one channel (order_id for
 * RING_ORDER); fn may be NULL to only count.  Returns the number of
 * messages, and their total length in *bytes when bytes is not NULL. */
size_t ring_replay(const ring *r, const ring_plan *plan, int channel,
                   int64_t order_id, ring_visit_fn *fn, void *baton,
                   size_t *bytes);

size_t ring_count(const ring *r);          /* events held */
const char *ring_epoch(const ring *r);     /* NULL before any event */
int64_t ring_max_seen(const ring *r);      /* highest id received, or 0 */

#endif /* TIMING_RING_H */
