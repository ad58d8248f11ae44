/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gapwatch.c -- open gaps in the ids received, and their age.
 *
 * Event ids come from AUTO_INCREMENT and events are sent after COMMIT, so
 * an id missing below the highest one received is either a transaction
 * still committing (it fills within the horizon: transactions are kept
 * far shorter), or one that will never come: a rollback, an id InnoDB
 * skipped, or a notification lost on the way.  The daemon cannot tell
 * which, so a gap open for the horizon is reported once -- the caller
 * resyncs the sockets that may have missed it -- and then forgotten: ids
 * that never come must not resync again and again.  An id that arrives
 * after its gap was forgotten is simply late, not new trouble.
 *
 * Gaps are kept as ranges of ids, sorted and disjoint, so a jump of a
 * million ids costs one range.  Ranges are opened only above the highest
 * id received (the ones below were either received or already counted),
 * so new ranges are appended; an id arriving inside a range splits it.
 * Nothing is known before the first id: ids below it are not gaps.  When
 * more than GW_MAX_GAPS ranges are open at once the oldest is reported
 * at once instead of being kept.
 */
#include <stdlib.h>
#include <string.h>

#include "gapwatch.h"

typedef struct gw_range {
    int64_t lo, hi;             /* missing ids, inclusive */
    long long opened_ms;
} gw_range;

struct gapwatch {
    long long horizon_ms;
    int64_t high;               /* highest id received, 0 when none */
    gw_range ranges[GW_MAX_GAPS];
    size_t n;
    size_t overflowed;          /* ranges dropped for room, to report */
    long long overflow_ms;      /* when the first of them was dropped */
};

gapwatch *gw_create(long long horizon_ms)
{
    gapwatch *g = calloc(1, sizeof *g);

    if (g) {
        g->horizon_ms = horizon_ms;
    }
    return g;
}

void gw_destroy(gapwatch *g)
{
    free(g);
}

void gw_reset(gapwatch *g)
{
    g->high = 0;
    g->n = 0;
    g->overflowed = 0;
}

static void remove_at(gapwatch *g, size_t i)
{
    memmove(&g->ranges[i], &g->ranges[i + 1],
            (g->n - i - 1) * sizeof g->ranges[0]);
    g->n--;
}

/* Makes room for one more range by reporting the oldest early. */
static void make_room(gapwatch *g, long long now_ms)
{
    size_t i, oldest = 0;

    for (i = 1; i < g->n; i++) {
        if (g->ranges[i].opened_ms < g->ranges[oldest].opened_ms) {
            oldest = i;
        }
    }
    if (g->overflowed++ == 0) {
        g->overflow_ms = now_ms;
    }
    remove_at(g, oldest);
}

void gw_note(gapwatch *g, int64_t id, long long now_ms)
{
    size_t i;

    if (id <= 0) {
        return;
    }
    if (g->high == 0) {
        g->high = id;
        return;
    }
    if (id > g->high) {
        if (id > g->high + 1) {
            if (g->n == GW_MAX_GAPS) {
                make_room(g, now_ms);
            }
            g->ranges[g->n].lo = g->high + 1;
            g->ranges[g->n].hi = id - 1;
            g->ranges[g->n].opened_ms = now_ms;
            g->n++;
        }
        g->high = id;
        return;
    }
    /* Below the highest: fills (part of) a gap, or is late or repeated. */
    for (i = 0; i < g->n; i++) {
        gw_range *r = &g->ranges[i];

        if (id < r->lo) {
            return;             /* sorted: in no range */
        }
        if (id > r->hi) {
            continue;
        }
        if (r->lo == r->hi) {
            remove_at(g, i);
        }
        else if (id == r->lo) {
            r->lo++;
        }
        else if (id == r->hi) {
            r->hi--;
        }
        else {
            /* Split; the upper half keeps the range's age. */
            gw_range upper = { id + 1, r->hi, r->opened_ms };

            if (g->n == GW_MAX_GAPS) {
                make_room(g, now_ms);
                gw_note(g, id, now_ms);     /* positions have moved */
                return;
            }
            r->hi = id - 1;
            memmove(&g->ranges[i + 2], &g->ranges[i + 1],
                    (g->n - i - 1) * sizeof g->ranges[0]);
            g->ranges[i + 1] = upper;
            g->n++;
        }
        return;
    }
}

size_t gw_expire(gapwatch *g, long long now_ms)
{
    size_t i = 0, expired = g->overflowed;

    g->overflowed = 0;
    while (i < g->n) {
        if (now_ms - g->ranges[i].opened_ms >= g->horizon_ms) {
            remove_at(g, i);
            expired++;
        }
        else {
            i++;
        }
    }
    return expired;
}

long long gw_next_deadline(const gapwatch *g)
{
    long long next = -1;
    size_t i;

    if (g->overflowed) {
        return g->overflow_ms;
    }
    for (i = 0; i < g->n; i++) {
        long long d = g->ranges[i].opened_ms + g->horizon_ms;

        if (next == -1 || d < next) {
            next = d;
        }
    }
    return next;
}

size_t gw_open(const gapwatch *g)
{
    return g->n;
}
