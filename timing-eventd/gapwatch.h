/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gapwatch.h -- watches the event ids received for gaps that stay open.
 *
 * Pure: the caller passes the clock in (milliseconds, monotonic), so the
 * unit tests drive time.  A gap still open after the horizon is reported
 * once and forgotten; what to tell whom is events.c's business.
 */
#ifndef TIMING_GAPWATCH_H
#define TIMING_GAPWATCH_H

#include <stddef.h>
#include <stdint.h>

#define GW_DEFAULT_HORIZON_MS   2000
#define GW_MAX_GAPS             256     /* open ranges remembered */

typedef struct gapwatch gapwatch;

/* NULL when out of memory. */
gapwatch *gw_create(long long horizon_ms);
void gw_destroy(gapwatch *g);

/* Forgets every id and gap (a new epoch: ids start again). */
void gw_reset(gapwatch *g);

/* An event id arrived at now_ms. */
void gw_note(gapwatch *g, int64_t id, long long now_ms);

/* Forgets the gaps open for the horizon or longer at now_ms and returns
 * how many ranges of missing ids that was (0: nothing to resync). */
size_t gw_expire(gapwatch *g, long long now_ms);

/* When gw_expire will next have something to report, or -1 if never
 * (no gap open). */
long long gw_next_deadline(const gapwatch *g);

/* Ranges of missing ids open now. */
size_t gw_open(const gapwatch *g);

#endif /* TIMING_GAPWATCH_H */
