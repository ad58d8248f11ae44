/*
 * ws_resume.c -- answers a resuming client, between its connection
 * message and the first live event.
 *
 * A resume into another epoch (the database was rebuilt or restored, or
 * the client sends an epoch nobody gave out; mod_timing compares) is a
 * resync at once.  Otherwise the ring decides (ring.c says why each answer
 * is safe) and the replay is queued here, each message byte for byte as it
 * was first sent.  All of it happens inside the one handler that opens the
 * session, after it has joined the hub: the daemon is single-threaded, so
 * no live event can slip in between, and every later one is queued behind
 * the replay -- nothing is duplicated or reordered.
 *
 * A replay bigger than the output cap would only make the client a slow
 * one and cut it off; it gets a resync ("too_many") and refetches over
 * REST instead.  Queueing and the cap are ws_output.c's.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "stats.h"
#include "ws_output.h"
#include "ws_resume.h"
#include "ws_session.h"

static void replay_one(const char *msg, size_t len, void *baton)
{
    ws_out_queue(baton, msg, len, 1);
}

void ws_resume_send_resync(void *session, const char *msg, size_t len,
                           void *baton)
{
    ws_session *s = session;

    (void)baton;
    if (ws_out_queue(s, msg, len, 1) == 0) {
        stats.resyncs++;
    }
}

static int resync(ws_session *s, const char *reason)
{
    char *msg = msg_typed("resync", reason);

    log_msg(LOG_INFO, "session %s: resync (%s)", s->client_id, reason);
    if (!msg) {
        ws_session_close(s, "cannot build a resync: out of memory");
        return -1;
    }
    ws_resume_send_resync(s, msg, strlen(msg), NULL);
    free(msg);
    return s->state == WS_OPEN ? 0 : -1;
}

int ws_resume(ws_session *s, const ring *r, const hs_request *hs)
{
    int channel = hs->channel == HS_CHANNEL_ADMIN ? RING_ADMIN : RING_ORDER;
    ring_plan plan;
    size_t count, bytes;

    if (hs->other_epoch) {
        return resync(s, "epoch");
    }
    if (hs->last_event < 0) {
        return 0;
    }
    ring_plan_resume(r, hs->epoch, hs->last_event, hs->newest_event, &plan);
    if (plan.resync) {
        return resync(s, plan.reason);
    }
    count = ring_replay(r, &plan, channel, hs->order_id, NULL, NULL, &bytes);
    if (count == 0) {
        return 0;
    }
    if (bytes > s->cfg->max_queue) {
        return resync(s, "too_many");
    }
    ring_replay(r, &plan, channel, hs->order_id, replay_one, s, NULL);
    if (s->state != WS_OPEN) {
        return -1;
    }
    stats.replays += count;
    log_msg(LOG_DEBUG, "session %s: replayed %zu event(s) after %lld",
            s->client_id, count, (long long)hs->last_event);
    return 0;
}
