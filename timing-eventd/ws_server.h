/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ws_server.h -- the WebSocket server: accepts on the WebSocket socket and
 * owns every session.
 *
 * main.c creates and closes the listening socket; the server watches it,
 * runs the once-a-second heartbeat sweep, sends what fan-out queued and
 * frees closed sessions from the loop's before-sleep hook.  What happens
 * inside one session is ws_session.c's business; the session calls back
 * only through the owner callbacks the server gives it.
 */
#ifndef TIMING_WS_SERVER_H
#define TIMING_WS_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "hub.h"
#include "loop.h"
#include "ring.h"
#include "ws_session.h"

typedef struct ws_server ws_server;

/* The ring is borrowed, for resuming sessions. */
ws_server *ws_server_create(loop *l, hub *h, const ring *r,
                            const ws_config *cfg);
/* Closes and frees every session; the listening fd is left to main. */
void ws_server_destroy(ws_server *srv);

/* Starts accepting on a listening unix socket: 0 or -1. */
int ws_server_listen(ws_server *srv, int fd);
void ws_server_stop_accepting(ws_server *srv);

/* Tells every open session {"type":"disconnect","reason":"shutdown"},
 * closes with 1001, and gives them grace_ms to get it out. */
void ws_server_shutdown(ws_server *srv, long long grace_ms);

/* An Apache generation was reported (TP_GENERATION).  When it is higher
 * than any seen, every open session of an older one is told "reconnect"
 * and closed with 1012, spread over --recycle-spread-ms; 1 then, 0 when
 * a duplicate or lower generation was ignored. */
int ws_server_new_generation(ws_server *srv, int64_t generation);

/* A user was revoked (TP_REVOKE): every open session of that
 * X-Timing-User is told "auth" and closed with 1008 at once.  Returns how
 * many. */
size_t ws_server_revoke_user(ws_server *srv, const char *user);

/* An unexplained loss (a gap past the horizon, failed sends): it may have
 * been a revocation, which the daemon cannot look up.  Every open session
 * that was opened with a user's token (X-Timing-User) before now is told
 * "reconnect" and closed with 1012, spread over --recycle-spread-ms like a
 * generation's, so mod_timing checks each token again at the new
 * upgrade.  Sessions of a tracking token have no user and stay.  Returns
 * how many are to go. */
size_t ws_server_recheck_users(ws_server *srv);

/* Sessions not yet closed, in any state, and of them those handed off
 * (the rest are tunnelled). */
size_t ws_server_sessions(const ws_server *srv);
size_t ws_server_handoffs(const ws_server *srv);

/* Takes a client's TCP socket Apache handed off (handoff.c), with the n
 * bytes the tunnel would have forwarded; fd is the server's from then
 * on, closed (never shut down) when nothing was answered.  Returns the HTTP status answered on
 * it, or 0 when nothing was (then Apache answers). */
int ws_server_adopt(ws_server *srv, int fd, const char *bytes, size_t n);

/* Apache stopped for good: every handed-off session is told
 * {"type":"disconnect","reason":"shutdown"}, closes with 1001 and gets
 * grace_ms to get it out.  Returns how many. */
size_t ws_server_stop_handoffs(ws_server *srv, long long grace_ms);

/* Flushes sessions with freshly queued output, then frees the sessions
 * closed since the last call.  Called from the loop's before-sleep hook,
 * when no handler holds a session pointer. */
void ws_server_before_sleep(ws_server *srv);

/* For the fuzz rig, which drives the server without epoll: accepts what
 * waits on the listening socket, as when it is readable ... */
void ws_server_accept(ws_server *srv);
/* ... and calls fn on every session not yet closed (fn may close it). */
void ws_server_each(ws_server *srv, void (*fn)(ws_session *s, void *baton),
                    void *baton);

#endif /* TIMING_WS_SERVER_H */
