/* SPDX-License-Identifier: Apache-2.0 */
/*
 * outq.c -- a client's output queue over wslay, and its bound.
 *
 * wslay queues without limit, so the bound (--max-queue) is kept here, as
 * memory: what wslay holds, payloads and per-message overhead.  Only what
 * the socket will not take counts as falling behind, so past the bound
 * what can be sent is sent before the answer.  wslay sends control
 * frames ahead of queued messages, so a close frame asked for with
 * outq_close_after is queued only once the messages before it are out.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "outq.h"

/* What one queued message costs beyond its payload: wslay's message struct
 * and queue cell with their malloc headers (about 100 bytes on 64-bit). */
#define MSG_OVERHEAD            128

struct outq {
    wslay_event_context_ptr ctx;    /* borrowed */
    size_t cap;
    int close_code;                 /* 0: no close frame waiting */
    const char *close_reason;
};

outq *outq_create(wslay_event_context_ptr ctx, size_t cap)
{
    outq *q = calloc(1, sizeof *q);

    if (q) {
        q->ctx = ctx;
        q->cap = cap;
    }
    return q;
}

void outq_destroy(outq *q)
{
    free(q);
}

size_t outq_cap(const outq *q)
{
    return q->cap;
}

/* Payload bytes alone are not enough: wslay answers every protocol ping
 * with a pong of the same (possibly empty) payload, so a client that
 * sends empty pings and never reads would pile up pongs that count as
 * nothing. */
static size_t queued(const outq *q)
{
    return wslay_event_get_queued_msg_length(q->ctx)
           + wslay_event_get_queued_msg_count(q->ctx) * MSG_OVERHEAD;
}

/* The events socket fans out a batch of datagrams per wakeup before the
 * loop flushes, and a client that reads at once must not look slow for
 * that: hence the send before judging. */
int outq_over(outq *q, size_t extra, size_t limit, int may_send, int *sent)
{
    if (sent) {
        *sent = 0;
    }
    if (queued(q) + extra <= limit) {
        return OUTQ_OK;
    }
    if (may_send) {
        if (wslay_event_send(q->ctx) != 0) {
            return OUTQ_FAILED;
        }
        if (sent) {
            *sent = 1;
        }
    }
    return queued(q) + extra > limit ? OUTQ_OVER : OUTQ_OK;
}

int outq_push(outq *q, const char *msg, size_t len, int bypass_cap,
              int may_send, int *sent)
{
    struct wslay_event_msg m;
    int rc;

    if (sent) {
        *sent = 0;
    }
    if (!bypass_cap) {
        rc = outq_over(q, len, q->cap, may_send, sent);
        if (rc != OUTQ_OK) {
            return rc;
        }
    }
    m.opcode = WSLAY_TEXT_FRAME;
    m.msg = (const uint8_t *)msg;
    m.msg_length = len;
    rc = wslay_event_queue_msg(q->ctx, &m);
    if (rc == WSLAY_ERR_NO_MORE_MSG) {
        return OUTQ_CLOSED;
    }
    return rc == 0 ? OUTQ_OK : OUTQ_NOMEM;
}

int outq_idle(outq *q)
{
    return q->close_code == 0 && wslay_event_get_write_enabled(q->ctx)
           && !wslay_event_get_close_sent(q->ctx)
           && !wslay_event_want_write(q->ctx);
}

int outq_ping(outq *q)
{
    static const struct wslay_event_msg ping = {
        WSLAY_PING, (const uint8_t *)"", 0
    };

    return wslay_event_queue_msg(q->ctx, &ping) == 0 ? 0 : -1;
}

void outq_close_after(outq *q, int code, const char *reason)
{
    q->close_code = code;
    q->close_reason = reason;
}

int outq_flush(outq *q)
{
    if (wslay_event_send(q->ctx) != 0) {
        return -1;
    }
    if (q->close_code && wslay_event_get_queued_msg_count(q->ctx) == 0) {
        wslay_event_queue_close(q->ctx, (uint16_t)q->close_code,
                                (const uint8_t *)q->close_reason,
                                strlen(q->close_reason));
        q->close_code = 0;
        if (wslay_event_send(q->ctx) != 0) {
            return -1;
        }
    }
    return 0;
}
