/* SPDX-License-Identifier: Apache-2.0 */
/*
 * outq.h -- one client's output queue: wslay's send queue with the bound
 * (--max-queue) that wslay does not keep, and the close frame that waits
 * for the queue to drain (outq.c).
 *
 * Knows wslay and nothing above it: the session that owns a queue
 * decides when sending is allowed and what to do about a client over its
 * bound, from the return values.
 */
#ifndef TIMING_OUTQ_H
#define TIMING_OUTQ_H

#include <stddef.h>
#include <wslay/wslay.h>

typedef struct outq outq;

/* What outq_over and outq_push report. */
enum {
    OUTQ_OK = 0,            /* within the bound / queued */
    OUTQ_OVER = 1,          /* past the bound even after sending */
    OUTQ_FAILED = -1,       /* writing failed: the connection is broken */
    OUTQ_CLOSED = -2,       /* a close frame is queued: nothing after it */
    OUTQ_NOMEM = -3         /* wslay could not queue the message */
};

/* A queue over ctx (borrowed, freed after the queue) bounded at cap
 * bytes; NULL when out of memory. */
outq *outq_create(wslay_event_context_ptr ctx, size_t cap);
void outq_destroy(outq *q);

/* The bound given to outq_create. */
size_t outq_cap(const outq *q);

/* Is the queue past limit with extra more bytes queued?  Past it, what
 * the socket takes is sent first when may_send (never from inside
 * wslay_event_recv, which is mid-call); *sent (may be NULL) says whether
 * that happened, so the caller can recompute what to watch for.
 * OUTQ_OK, OUTQ_OVER or OUTQ_FAILED. */
int outq_over(outq *q, size_t extra, size_t limit, int may_send,
              int *sent);

/* Queues one text message.  Unless bypass_cap, one that would take the
 * queue past its bound is not queued (OUTQ_OVER), after the same attempt
 * to send as outq_over.  OUTQ_OK, OUTQ_OVER, OUTQ_FAILED, OUTQ_CLOSED or
 * OUTQ_NOMEM. */
int outq_push(outq *q, const char *msg, size_t len, int bypass_cap,
              int may_send, int *sent);

/* Is the queue empty at a frame boundary, with writing allowed and no
 * close under way?  Then bytes written past wslay form the next frame. */
int outq_idle(outq *q);

/* Queues an empty protocol ping: 0, or -1 when wslay would not. */
int outq_ping(outq *q);

/* Once every queued message is out, a close frame with code and reason
 * (static) follows it. */
void outq_close_after(outq *q, int code, const char *reason);

/* Sends what the socket takes, and the close frame once its turn has
 * come: 0, or -1 when writing failed. */
int outq_flush(outq *q);

#endif /* TIMING_OUTQ_H */
