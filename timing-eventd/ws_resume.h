/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ws_resume.h -- what a resuming client is owed right after its
 * connection message: nothing, the replay of what it missed, or a resync
 * (ws_resume.c).
 *
 * A decision only: the session that asks queues what it says.  Whether
 * each answer is safe is ring.c's.
 */
#ifndef TIMING_WS_RESUME_H
#define TIMING_WS_RESUME_H

#include <stddef.h>
#include <stdint.h>

#include "handshake.h"
#include "ring.h"

enum { WS_RESUME_NONE, WS_RESUME_RESYNC, WS_RESUME_REPLAY };

typedef struct ws_resume_plan {
    const char *reason;         /* WS_RESUME_RESYNC: the resync's reason */
    ring_plan plan;             /* WS_RESUME_REPLAY: ring_replay's arguments */
    int channel;
    int64_t order_id;
    size_t count;               /* WS_RESUME_REPLAY: how many messages */
} ws_resume_plan;

/* What the upgrade hs asks to resume, for a client whose output may hold
 * max_bytes: WS_RESUME_NONE, _RESYNC or _REPLAY, with *out filled in for
 * the last two. */
int ws_resume_decide(const ring *r, const hs_request *hs, size_t max_bytes,
                     ws_resume_plan *out);

#endif /* TIMING_WS_RESUME_H */
