/*
 * ws_output.c -- what a session queues for its client, and the bound on it.
 *
 * wslay queues without limit, so the output cap (--max-queue) is kept
 * here: every message to a client goes through ws_out_queue, a client
 * that falls behind is told "slow_client" and given SLOW_DRAIN_MS to take
 * what it has, and every server-initiated goodbye starts in
 * ws_out_begin_close.  Reading, the handshake and the heartbeat are
 * ws_session.c's; the flush that actually writes is ws_session_flush.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "messages.h"
#include "stats.h"
#include "ws_output.h"
#include "ws_session.h"

#define SLOW_DRAIN_MS           5000    /* slow client: last words */
/* What one queued message costs beyond its payload: wslay's message struct
 * and queue cell with their malloc headers (about 100 bytes on 64-bit). */
#define MSG_OVERHEAD            128

/* Sessions already closed have no output left to send. */
void ws_out_mark_dirty(ws_session *s)
{
    if (s->state != WS_DEAD) {
        ws_server_mark_dirty(s->srv, s);
    }
}

/* What wslay holds for the client, as memory.  Payload bytes alone are not
 * enough: wslay answers every protocol ping with a pong of the same
 * (possibly empty) payload, so a client that sends empty pings and never
 * reads would pile up pongs that count as nothing. */
static size_t ws_out_queued(const ws_session *s)
{
    return wslay_event_get_queued_msg_length(s->ctx)
           + wslay_event_get_queued_msg_count(s->ctx) * MSG_OVERHEAD;
}

/* Is s over limit with extra more bytes queued?  Only what the socket will
 * not take counts as falling behind: events.c fans out a batch of
 * datagrams per wakeup before the loop flushes, and a client that reads
 * at once must not look slow for that.  So, past the limit, what can be
 * sent is sent first (never from inside wslay_event_recv, which is
 * mid-call).  1 over, 0 within, -1 when the write failed and s is closed. */
int ws_out_over_limit(ws_session *s, size_t extra, size_t limit)
{
    if (ws_out_queued(s) + extra <= limit) {
        return 0;
    }
    if (!s->raw && !s->in_recv) {
        if (wslay_event_send(s->ctx) != 0) {
            ws_session_close(s, "write failed");
            return -1;
        }
        /* The epoll mask follows what is left: the flush recomputes it. */
        ws_out_mark_dirty(s);
    }
    return ws_out_queued(s) + extra > limit;
}

/* Queues one text message.  With the cap in force, a message that would
 * take the session past --max-queue turns it into a slow client instead.
 * Returns 0 when queued, -1 when not (the session may then be closing). */
int ws_out_queue(ws_session *s, const char *msg, size_t len,
                 int bypass_cap)
{
    struct wslay_event_msg m;
    int rc;

    if (s->state != WS_OPEN && !(bypass_cap && s->state == WS_CLOSING)) {
        return -1;
    }
    /* wslay queues without limit, so the bound is ours to keep. */
    if (!bypass_cap) {
        int over = ws_out_over_limit(s, len, s->cfg->max_queue);

        if (over != 0) {
            if (over == 1) {
                ws_out_drop_slow(s);
            }
            return -1;
        }
    }
    m.opcode = WSLAY_TEXT_FRAME;
    m.msg = (const uint8_t *)msg;
    m.msg_length = len;
    rc = wslay_event_queue_msg(s->ctx, &m);
    if (rc == WSLAY_ERR_NO_MORE_MSG) {
        return -1;      /* a close is already on its way */
    }
    if (rc != 0) {
        ws_session_close(s, "cannot queue a message: out of memory");
        return -1;
    }
    stats.messages_sent++;
    ws_out_mark_dirty(s);
    return 0;
}

/* Says goodbye with {"type":"disconnect","reason":...}, then a close
 * frame.  wslay sends control frames ahead of queued messages, so the close
 * frame is queued only once the queue has drained (flush does that);
 * grace_ms bounds the whole goodbye. */
void ws_out_begin_close(ws_session *s, const char *reason, int code,
                        long long grace_ms)
{
    char *msg;

    if (s->state != WS_OPEN) {
        return;
    }
    hub_forget(s->hub, &s->member);
    s->state = WS_CLOSING;
    s->close_code = code;
    s->close_reason = reason;
    s->deadline_ms = loop_now_ms() + grace_ms;
    msg = msg_typed("disconnect", reason);
    if (msg) {
        ws_out_queue(s, msg, strlen(msg), 1);
        free(msg);
    }
    ws_out_mark_dirty(s);
}

/* Over --max-queue: the client is not keeping up.  It is told why, after
 * what it already has queued, and gets SLOW_DRAIN_MS to take it all. */
void ws_out_drop_slow(ws_session *s)
{
    log_msg(LOG_INFO, "session %s: more than %zu bytes waiting, dropping a "
            "slow client", s->client_id, s->cfg->max_queue);
    stats.slow_clients_dropped++;
    ws_out_begin_close(s, "slow_client", WSLAY_CODE_POLICY_VIOLATION, SLOW_DRAIN_MS);
}

void ws_session_deliver(void *session, const char *msg, size_t len,
                        void *baton)
{
    (void)baton;
    ws_out_queue(session, msg, len, 0);
}

/* The first message of every session. */
int ws_out_connection(ws_session *s, const char *epoch,
                      int64_t last_event_id)
{
    struct timespec now;
    char *msg;
    int rc;

    clock_gettime(CLOCK_REALTIME, &now);
    msg = msg_connection(s->client_id, epoch, last_event_id, &now);
    if (!msg) {
        return -1;
    }
    rc = ws_out_queue(s, msg, strlen(msg), 1);
    free(msg);
    return rc;
}
