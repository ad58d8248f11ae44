/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ws_resume.c -- decides what a resuming client gets between its
 * connection message and the first live event.
 *
 * A resume into another epoch (the database was rebuilt or restored, or
 * the client sends an epoch nobody gave out; mod_timing compares) is a
 * resync at once.  Otherwise the ring decides (ring.c says why each answer
 * is safe).  The session queues the replay, each message byte for byte as
 * it was first sent, inside the one handler that opens it, after it has
 * joined the hub: the daemon is single-threaded, so no live event can
 * slip in between, and every later one is queued behind the replay --
 * nothing is duplicated or reordered.
 *
 * A replay bigger than the client's output bound would only make it a
 * slow client and cut it off; it gets a resync ("too_many") and refetches
 * over REST instead.
 */
#include "ws_resume.h"

int ws_resume_decide(const ring *r, const hs_request *hs, size_t max_bytes,
                     ws_resume_plan *out)
{
    size_t bytes;

    if (hs->other_epoch) {
        out->reason = "epoch";
        return WS_RESUME_RESYNC;
    }
    if (hs->last_event < 0) {
        return WS_RESUME_NONE;
    }
    ring_plan_resume(r, hs->epoch, hs->last_event, hs->newest_event,
                     &out->plan);
    if (out->plan.resync) {
        out->reason = out->plan.reason;
        return WS_RESUME_RESYNC;
    }
    out->channel = hs->channel == HS_CHANNEL_ADMIN ? RING_ADMIN : RING_ORDER;
    out->order_id = hs->order_id;
    out->count = ring_replay(r, &out->plan, out->channel, out->order_id,
                             NULL, NULL, &bytes);
    if (out->count == 0) {
        return WS_RESUME_NONE;
    }
    if (bytes > max_bytes) {
        out->reason = "too_many";
        return WS_RESUME_RESYNC;
    }
    return WS_RESUME_REPLAY;
}
