/*
 * ws_session.h -- one WebSocket session: the upgrade, then wslay.
 *
 * A session owns its fd, its handshake state and its wslay context; the
 * hub borrows it (hub_member) and the server lists it.  The struct is
 * public only so ws_server.c can keep its list links; every other field
 * is ws_session.c's.
 */
#ifndef TIMING_WS_SESSION_H
#define TIMING_WS_SESSION_H

#include <stddef.h>
#include <wslay/wslay.h>

#include "admit.h"
#include "handshake.h"
#include "hub.h"
#include "messages.h"
#include "ring.h"
#include "ws_server.h"

enum ws_state {
    WS_HANDSHAKE,       /* reading the upgrade request */
    WS_REFUSING,        /* writing an HTTP error, then close */
    WS_OPEN,            /* subscribed, wslay running */
    WS_CLOSING,         /* disconnect said, close frame to follow */
    WS_DEAD             /* fd closed, waiting to be freed */
};

struct ws_session {
    ws_server *srv;
    loop *loop;
    hub *hub;
    const ring *ring;           /* the server's, for resumes */
    const ws_config *cfg;
    int fd;
    int state;                  /* enum ws_state */
    hub_member member;
    hs_request *hs;             /* WS_HANDSHAKE only */
    wslay_event_context_ptr ctx;/* from WS_OPEN on */

    char *raw;                  /* HTTP answer not yet written */
    size_t raw_len, raw_off;
    char *pre;                  /* bytes read past the request head */
    size_t pre_len, pre_off;

    int close_code;             /* close frame to queue once drained */
    const char *close_reason;
    long long created_ms, last_recv_ms, next_ping_ms, deadline_ms;
    long long expires_ms;       /* asked to reconnect then; 0: never */
    size_t read_budget;
    int in_recv;                /* inside wslay_event_recv: no sending */
    char client_id[MSG_CLIENT_ID_LEN + 1];
    int64_t generation;         /* Apache generation that tunnels it */
    char *user;                 /* X-Timing-User, NULL when none */
    admit_ticket ticket;        /* its place, while admitted */

    /* ws_server.c's links */
    ws_session *prev, *next;    /* every session not yet dead */
    ws_session *dirty_prev, *dirty_next;
    int dirty;
    ws_session *dead_next;
};

/* Takes a freshly accepted fd and starts reading the upgrade; NULL (fd
 * closed) when out of memory. */
ws_session *ws_session_new(ws_server *srv, loop *l, hub *h,
                           const ring *r, const ws_config *cfg, int fd);
void ws_session_free(ws_session *s);

/* Closes the fd and leaves the hub now; the server frees it later. */
void ws_session_close(ws_session *s, const char *why);

/* Sends what can be sent and rewatches the fd accordingly. */
void ws_session_flush(ws_session *s);

/* The heartbeat's look at one session: timeouts, pings, the cap. */
void ws_session_tick(ws_session *s, long long now);

/* Says goodbye for a daemon shutdown (1001) within grace_ms. */
void ws_session_shutdown(ws_session *s, long long grace_ms);

/* Open and tunnelled by a generation older than `generation`? */
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

#endif /* TIMING_WS_SESSION_H */
