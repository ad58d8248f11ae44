/* SPDX-License-Identifier: Apache-2.0 */
/*
 * recycle.c -- the pace of recycling an old generation's sessions; see
 * recycle.h.
 */
#include "recycle.h"

void recycle_init(recycle *r, long long spread_ms)
{
    r->generation = 0;
    r->spread_ms = spread_ms < 0 ? 0 : spread_ms;
    r->start_ms = 0;
    r->total = r->done = 0;
    r->running = 0;
}

int recycle_start(recycle *r, int64_t generation, size_t older,
                  long long now)
{
    if (generation <= r->generation) {
        return 0;
    }
    r->generation = generation;
    r->start_ms = now;
    r->total = older;
    r->done = 0;
    r->running = 1;
    return 1;
}

size_t recycle_quota(const recycle *r, long long now)
{
    long long elapsed = now - r->start_ms;
    size_t due;

    if (!r->running) {
        return 0;
    }
    if (r->spread_ms <= 0 || elapsed >= r->spread_ms) {
        return SIZE_MAX;
    }
    if (elapsed <= 0) {
        return 0;
    }
    /* total is a count of sockets and elapsed under RECYCLE_MAX_SPREAD_MS:
     * the product stays far inside 64 bits. */
    due = (size_t)((uint64_t)r->total * (uint64_t)elapsed
                   / (uint64_t)r->spread_ms);
    return due > r->done ? due - r->done : 0;
}

void recycle_note(recycle *r, size_t n, int finished)
{
    r->done += n;
    if (finished) {
        r->running = 0;
    }
}

long long recycle_next_delay(const recycle *r, long long now)
{
    long long left = r->start_ms + r->spread_ms - now;

    if (left <= 0) {
        return 1;
    }
    return left < RECYCLE_TICK_MS ? left : RECYCLE_TICK_MS;
}
