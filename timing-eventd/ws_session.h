/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ws_session.h -- one WebSocket session: the upgrade, then wslay, with its
 * output queue (outq.h).
 *
 * A session owns its fd, its handshake state, its wslay context and its
 * output queue; the hub borrows it (hub_member) and its owner, the
 * server, keeps it.  The struct is ws_session.c's alone.  What a session
 * must tell its owner goes through the callbacks the owner gives it.
 */
#ifndef TIMING_WS_SESSION_H
#define TIMING_WS_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "handshake.h"
#include "hub.h"
#include "loop.h"
#include "ring.h"

typedef struct ws_config {
    size_t max_queue;           /* bytes wslay may hold for one client */
    size_t max_message;         /* largest message a client may send */
    long long ping_interval_ms;
    long long pong_timeout_ms;  /* silence after which a tunnel is dead */
    long long recycle_spread_ms;/* window for recycling a generation */
    const unsigned char *secret;/* what upgrades are sealed with */
    size_t secret_len;
} ws_config;

typedef struct ws_session ws_session;

/* What a session asks of, or tells, its owner; each gets the owner's
 * baton from ws_session_new. */
typedef struct ws_session_owner {
    /* May the session of this parsed upgrade have a socket?  ADMIT_OK
     * (its place taken, to be given back when it closes), or why not
     * (admit.h). */
    int (*admit)(void *baton, const hs_request *hs);
    /* Output was queued: ws_session_flush it before the loop sleeps. */
    void (*dirty)(void *baton);
    /* Output was queued and may be written at once: 1 when this turn's
     * budget of writes allows it (the session then flushes itself), 0 to
     * mark it dirty instead. */
    int (*flush_now)(void *baton);
    /* The fd is closed and the hub left: free it once no handler can
     * hold it (after the batch of events). */
    void (*closed)(void *baton);
} ws_session_owner;

/* Takes a freshly accepted fd and starts reading the upgrade; NULL (fd
 * closed) when out of memory.  owner and cfg are borrowed. */
ws_session *ws_session_new(loop *l, hub *h, const ring *r,
                           const ws_config *cfg, int fd,
                           const ws_session_owner *owner, void *baton);
void ws_session_free(ws_session *s);

/* A session made by ws_session_new on a client's own TCP socket that
 * Apache handed off (handoff.c): the upgrade arrived with it, as the
 * n bytes the tunnel would have forwarded.  Decides and answers on the
 * socket at once, as on the tunnel.  Returns the HTTP status answered
 * (the socket is the session's from then on, and is shut down before it
 * is closed), or 0 when nothing was answered: the session is closed
 * without a shutdown and Apache still owns the connection. */
int ws_session_adopt(ws_session *s, const char *bytes, size_t n);

/* Closes the fd and leaves the hub now; the owner frees it later. */
void ws_session_close(ws_session *s, const char *why);

/* Sends what can be sent and rewatches the fd accordingly. */
void ws_session_flush(ws_session *s);

/* The heartbeat's look at one session: timeouts, pings, the cap. */
void ws_session_tick(ws_session *s, long long now);

/* Says goodbye for a daemon shutdown (1001) within grace_ms. */
void ws_session_shutdown(ws_session *s, long long grace_ms);

/* Open, tunnelled (not handed off) by a generation older than
 * `generation`? */
int ws_session_recyclable(const ws_session *s, int64_t generation);
/* Says "reconnect" and closes with 1012 (an old Apache generation). */
void ws_session_recycle(ws_session *s);
/* Open, authenticated as a user (any), and accepted at or before
 * before_ms: its token was checked before a loss that may have been a
 * revocation. */
int ws_session_needs_recheck(const ws_session *s, long long before_ms);
/* Says "reconnect" and closes with 1012 (its token is to be checked
 * again). */
void ws_session_recheck(ws_session *s);
/* Open and authenticated as user? */
int ws_session_of_user(const ws_session *s, const char *user);
/* Says "auth" and closes with 1008 (the user was revoked). */
void ws_session_revoke(ws_session *s);

/* A hub_send_fn: queues one text message to a session (the hub's owner
 * pointer), subject to the output cap.  baton: NULL, or the message as a
 * ws_frame (ws_frame.h), written at once when nothing is queued. */
void ws_session_deliver(void *session, const char *msg, size_t len,
                        void *baton);

/* A hub_send_fn (baton unused) for a resync message: queued whatever the
 * session's queue holds, since it is tiny and stands for all that was
 * missed.  events.c hands it to whole channels. */
void ws_session_send_resync(void *session, const char *msg, size_t len,
                            void *baton);

/* The session's socket, -1 once closed. */
int ws_session_fd(const ws_session *s);

/* What the loop calls when the socket is ready for mask (LOOP_READABLE,
 * LOOP_WRITABLE); public so the fuzz rig can drive a session without
 * epoll. */
void ws_session_io(ws_session *s, int mask);

#endif /* TIMING_WS_SESSION_H */
