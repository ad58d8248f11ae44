/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ring.c -- the replay ring and the resume decision.
 *
 * Events are kept in ARRIVAL order, not id order: ids come from
 * AUTO_INCREMENT and concurrent transactions commit (and so arrive) out of
 * id order, while a live client sees them in arrival order.  Arrival k
 * (counted from 0 since the daemon started, or since the epoch changed)
 * sits in slot k % capacity; the oldest arrivals are dropped first, when
 * the ring is full or its texts would pass a byte bound (an event of a
 * large order is some 15 KB twice over, and 4096 of them would be 120 MB).
 *
 * A client that resumes from last_event_id N gets:
 *
 * (a) N is held, or is the newest arrival dropped: every event that
 *     arrived after N did.  N is the last
 *     event its channel carried to it, and the daemon sends in arrival
 *     order, so it has exactly what arrived up to N -- an event with a
 *     lower id that arrived later is still replayed.  (A point taken
 *     from the REST log instead could miss an event with a higher id
 *     that arrived before N; the contract's resume point is the
 *     stream's: the connection message's last_event_id or the last
 *     event_id received.)
 *
 * (b) N is not held, lies between the lowest and highest ids received,
 *     and is above every id the ring has dropped (N an id never issued,
 *     a rollback's gap, or one still in flight): every held event with an
 *     id above N.  Safe because nothing above N was ever dropped, so all
 *     that arrived with an id above N is still here, and what has not
 *     arrived yet comes live.  What it can miss: an event with an id below
 *     N that arrives after the client took N.  A resume point from the
 *     REST log cannot have one (that log answers only up to the first gap
 *     younger than the horizon), and one from the stream is held (case
 *     a); but a point from a previous daemon (before a restart) that the
 *     new one happens not to hold can, and only the gap watch stands
 *     behind it.  Events below N that arrive later come again live:
 *     duplicates, which clients skip by event_id, never misses.
 *
 * (c) Otherwise resync: N at or below an id already dropped ("too_old"),
 *     above anything received ("unknown": the client knows a history the
 *     daemon has not seen), below everything received since start, or
 *     nothing received since start while N > 0 ("restarted": what came
 *     before the daemon started is not here).  N = 0 means the channel
 *     had carried nothing: all that is held, unless something was
 *     dropped.
 *
 * A loss the ring cannot hold (a lost notification, a gap that never
 * filled) is a barrier: every resume from an arrival before it, or from
 * an id case (b) would place after it, gets a resync, because the client
 * was not there to get the one sent to live sockets.
 *
 * Lookups are a linear scan from the newest event back: resumes are rare
 * and usually from a point just before the end.
 */
#include <stdlib.h>
#include <string.h>

#include "ring.h"

typedef struct ring_slot {
    int64_t event_id;
    int64_t order_id;
    int type;
    int has_customer;
    /* One allocation: the staff text, NUL, the customer text, NUL. */
    char *text;
    size_t staff_len, customer_len;
} ring_slot;

struct ring {
    ring_slot *slots;
    size_t cap;
    size_t count;
    size_t bytes, max_bytes;    /* texts held, and their bound */
    int64_t next_seq;           /* arrivals so far in this epoch */
    int64_t min_seen, max_seen; /* ids received, 0 when none */
    int64_t dropped_max;        /* highest id dropped, 0 when none */
    int64_t last_dropped;       /* id of the newest arrival dropped */
    int64_t barrier_seq;        /* -1: no loss noticed */
    const char *barrier_reason;
    char *epoch;                /* NULL until the first event */
};

ring *ring_create(size_t capacity, size_t max_bytes)
{
    ring *r;

    if (capacity == 0 || capacity > RING_MAX_SIZE) {
        return NULL;
    }
    r = calloc(1, sizeof *r);
    if (!r) {
        return NULL;
    }
    r->slots = calloc(capacity, sizeof *r->slots);
    if (!r->slots) {
        free(r);
        return NULL;
    }
    r->cap = capacity;
    r->max_bytes = max_bytes;
    r->barrier_seq = -1;
    return r;
}

static void clear(ring *r)
{
    size_t i;

    for (i = 0; i < r->cap; i++) {
        free(r->slots[i].text);
        r->slots[i].text = NULL;
    }
    r->count = 0;
    r->bytes = 0;
    r->next_seq = 0;
    r->min_seen = r->max_seen = r->dropped_max = r->last_dropped = 0;
    r->barrier_seq = -1;
    r->barrier_reason = NULL;
}

void ring_destroy(ring *r)
{
    if (!r) {
        return;
    }
    clear(r);
    free(r->slots);
    free(r->epoch);
    free(r);
}

int ring_set_epoch(ring *r, const char *epoch)
{
    char *copy;

    if (r->epoch && strcmp(r->epoch, epoch) == 0) {
        return 0;
    }
    clear(r);
    free(r->epoch);
    r->epoch = NULL;
    copy = strdup(epoch);
    if (!copy) {
        return -1;
    }
    r->epoch = copy;
    return 1;
}

static ring_slot *slot_of(const ring *r, int64_t seq)
{
    return &r->slots[(size_t)((uint64_t)seq % r->cap)];
}

static int64_t oldest_seq(const ring *r)
{
    return r->next_seq - (int64_t)r->count;
}

static void drop_oldest(ring *r)
{
    ring_slot *s = slot_of(r, oldest_seq(r));

    if (s->event_id > r->dropped_max) {
        r->dropped_max = s->event_id;
    }
    r->last_dropped = s->event_id;
    r->bytes -= s->staff_len + s->customer_len;
    free(s->text);
    s->text = NULL;
    r->count--;
}

void ring_mark_loss(ring *r, const char *reason)
{
    r->barrier_seq = r->next_seq;
    r->barrier_reason = reason;
}

int ring_add(ring *r, int64_t event_id, int64_t order_id, int type,
             const char *staff, size_t staff_len,
             const char *customer, size_t customer_len)
{
    ring_slot *s;
    char *text;
    size_t clen = customer ? customer_len : 0;

    text = malloc(staff_len + clen + 2);
    if (!text) {
        /* Not held means not replayable: whoever resumes from before it
         * must refetch instead. */
        ring_mark_loss(r, "lost");
        return -1;
    }
    memcpy(text, staff, staff_len);
    text[staff_len] = '\0';
    if (customer) {
        memcpy(text + staff_len + 1, customer, clen);
    }
    text[staff_len + 1 + clen] = '\0';

    /* Drop the oldest arrivals until the new one fits both bounds. */
    while (r->count == r->cap
           || (r->count > 0 && r->bytes + staff_len + clen > r->max_bytes)) {
        drop_oldest(r);
    }
    s = slot_of(r, r->next_seq);
    s->event_id = event_id;
    s->order_id = order_id;
    s->type = type;
    s->has_customer = customer != NULL;
    s->text = text;
    s->staff_len = staff_len;
    s->customer_len = clen;
    r->bytes += staff_len + clen;
    r->count++;
    r->next_seq++;
    if (r->min_seen == 0 || event_id < r->min_seen) {
        r->min_seen = event_id;
    }
    if (event_id > r->max_seen) {
        r->max_seen = event_id;
    }
    return 0;
}

/* The arrival number of the latest event with this id, or -1. */
static int64_t find_seq(const ring *r, int64_t id)
{
    int64_t seq, first = oldest_seq(r);

    for (seq = r->next_seq - 1; seq >= first; seq--) {
        if (slot_of(r, seq)->event_id == id) {
            return seq;
        }
    }
    return -1;
}

static void resync(ring_plan *plan, const char *reason)
{
    plan->resync = 1;
    plan->reason = reason;
}

void ring_plan_resume(const ring *r, const char *epoch, int64_t n,
                      int64_t newest, ring_plan *plan)
{
    int64_t seq = -1;

    memset(plan, 0, sizeof *plan);
    plan->from_seq = oldest_seq(r);
    if (n < 0) {
        resync(plan, "unknown");
        return;
    }
    /* The ring holds another history than the database's: nothing in it
     * may be replayed, and nothing of this one has arrived yet. */
    if (epoch && r->epoch && strcmp(epoch, r->epoch) != 0) {
        if (n > 0) {
            resync(plan, "epoch");
        }
        plan->from_seq = r->next_seq;
        return;
    }
    if (r->next_seq == 0) {
        /* Nothing arrived since the daemon started: what the database
         * logged after n before that never passed through here. */
        if (n > 0 || newest > n) {
            resync(plan, "restarted");
        }
        /* A loss noticed before any event arrived still concerns N = 0. */
        else if (r->barrier_seq >= 0) {
            resync(plan, r->barrier_reason);
        }
        return;
    }
    if (n > 0 && (seq = find_seq(r, n)) < 0 && n == r->last_dropped) {
        /* Just dropped: all that arrived after it is still held. */
        seq = oldest_seq(r) - 1;
    }
    if (n > 0 && seq >= 0) {
        if (seq < r->barrier_seq) {
            resync(plan, r->barrier_reason);
            return;
        }
        plan->from_seq = seq + 1;
        return;
    }
    if (n > r->max_seen) {
        resync(plan, "unknown");
    }
    else if (r->dropped_max > 0 && n <= r->dropped_max) {
        resync(plan, "too_old");
    }
    else if (n < r->min_seen && (n > 0 || r->min_seen > 1)) {
        /* Events between n and the first arrival came before the daemon
         * (n = 0 is the start of history: ids start at 1). */
        resync(plan, "restarted");
    }
    else if (r->barrier_seq >= oldest_seq(r)) {
        /* No arrival to compare with: a loss anywhere in what is held
         * may be after the client's point. */
        resync(plan, r->barrier_reason);
    }
    else {
        plan->by_id = 1;
        plan->above_id = n;
    }
}

size_t ring_replay(const ring *r, const ring_plan *plan, int channel,
                   int64_t order_id, ring_visit_fn *fn, void *baton,
                   size_t *bytes)
{
    int64_t seq = plan->from_seq;
    size_t count = 0, total = 0;

    if (plan->resync) {
        seq = r->next_seq;
    }
    if (seq < oldest_seq(r)) {
        seq = oldest_seq(r);
    }
    for (; seq < r->next_seq; seq++) {
        const ring_slot *s = slot_of(r, seq);
        const char *msg;
        size_t len;

        if (plan->by_id && s->event_id <= plan->above_id) {
            continue;
        }
        if (channel == RING_ADMIN) {
            msg = s->text;
            len = s->staff_len;
        }
        else if (s->type == RING_STATUS_UPDATE && s->has_customer
                 && s->order_id == order_id) {
            msg = s->text + s->staff_len + 1;
            len = s->customer_len;
        }
        else {
            continue;
        }
        if (fn) {
            fn(msg, len, baton);
        }
        count++;
        total += len;
    }
    if (bytes) {
        *bytes = total;
    }
    return count;
}

size_t ring_count(const ring *r)
{
    return r->count;
}

const char *ring_epoch(const ring *r)
{
    return r->epoch;
}

int64_t ring_max_seen(const ring *r)
{
    return r->max_seen;
}
