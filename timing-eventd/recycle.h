/* SPDX-License-Identifier: Apache-2.0 */
/*
 * recycle.h -- pacing the recycling of an old Apache generation's sockets.
 *
 * After a graceful restart Apache keeps the old generation's processes
 * alive for as long as their proxied sockets stay open.  When mod_timing
 * reports a higher generation (TP_GENERATION), every session opened
 * through an older one is told "reconnect" and closed with 1012 -- not
 * all at once, or thousands of clients would come back in the same
 * instant, but spread evenly over a window.  This file only does the
 * arithmetic: which generation is the newest, and how many sessions are
 * due to be closed by now.  Which sessions, and closing them, is
 * ws_server.c's.  Pure, so the unit tests drive it directly.
 */
#ifndef TIMING_RECYCLE_H
#define TIMING_RECYCLE_H

#include <stddef.h>
#include <stdint.h>

#define RECYCLE_DEFAULT_SPREAD_MS   5000
#define RECYCLE_MAX_SPREAD_MS       600000
#define RECYCLE_TICK_MS             100     /* one slice per tick */

typedef struct recycle {
    int64_t generation;     /* highest seen; sessions below it go */
    long long spread_ms;    /* the window; 0: at once */
    long long start_ms;     /* when the current run began */
    size_t total;           /* sessions to close in this run */
    size_t done;            /* closed so far in this run */
    int running;
} recycle;

void recycle_init(recycle *r, long long spread_ms);

/* A generation reported at now, with `older` open sessions below it.
 * 1 when it is higher than any seen: a run starts (a run in progress
 * starts again toward the new one); 0 when a duplicate or lower
 * generation was ignored. */
int recycle_start(recycle *r, int64_t generation, size_t older,
                  long long now);

/* How many sessions to close now so that done keeps pace with the
 * window: done + the answer = total * elapsed / spread.  Once the window
 * is over the answer is SIZE_MAX (whatever is left, latecomers
 * included).  0 when no run is going. */
size_t recycle_quota(const recycle *r, long long now);

/* n sessions were closed; finished says nothing older was left, or the
 * window is over: the run ends. */
void recycle_note(recycle *r, size_t n, int finished);

/* Delay until the next slice is due, in ms (at least 1). */
long long recycle_next_delay(const recycle *r, long long now);

#endif /* TIMING_RECYCLE_H */
