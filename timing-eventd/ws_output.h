/*
 * ws_output.h -- queueing output to one session under the output cap, and
 * starting a server-initiated close (ws_output.c).
 *
 * For ws_session.c and events.c only; a session's fields are
 * ws_session.c's and this file's.
 */
#ifndef TIMING_WS_OUTPUT_H
#define TIMING_WS_OUTPUT_H

#include <stddef.h>
#include <stdint.h>

#include "ws_server.h"

/* Puts s on the server's list of sessions with output to send. */
void ws_out_mark_dirty(ws_session *s);

/* Queues one text message to an open session.  Unless bypass_cap, one
 * that would take s past --max-queue makes it a slow client instead.
 * 0 when queued, -1 when not (s may then be closing or closed). */
int ws_out_queue(ws_session *s, const char *msg, size_t len, int bypass_cap);

/* Is s past limit with extra more bytes queued, counting only what its
 * socket will not take now?  1 over, 0 within, -1 when writing failed and
 * s is closed.  Never sends while s->in_recv. */
int ws_out_over_limit(ws_session *s, size_t extra, size_t limit);

/* Says {"type":"disconnect","reason":reason}, then closes with code once
 * the queue has drained; grace_ms bounds it all.  Open sessions only. */
void ws_out_begin_close(ws_session *s, const char *reason, int code,
                        long long grace_ms);

/* Over the cap: tells the client "slow_client" and closes with 1008. */
void ws_out_drop_slow(ws_session *s);

/* Queues the connection message, a session's first. */
int ws_out_connection(ws_session *s, const char *epoch,
                      int64_t last_event_id);

/* A hub_send_fn: queues one text message to a session (the hub's owner
 * pointer), subject to the output cap. */
void ws_session_deliver(void *session, const char *msg, size_t len,
                        void *baton);

#endif /* TIMING_WS_OUTPUT_H */
