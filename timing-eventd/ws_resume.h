/*
 * ws_resume.h -- what a session gets right after its connection message
 * when the client resumes: the replay of what it missed, or a resync.
 *
 * For ws_session.c; the decision itself is ring.c's.
 */
#ifndef TIMING_WS_RESUME_H
#define TIMING_WS_RESUME_H

#include "handshake.h"
#include "ring.h"
#include "ws_server.h"

/* Queues the replay or the resync the upgrade asks for (nothing when it
 * resumes nothing): 0, or -1 when the session has been closed. */
int ws_resume(ws_session *s, const ring *r, const hs_request *hs);

/* A hub_send_fn (baton unused) for a resync message: queued whatever the
 * session's queue holds, since it is tiny and stands for all that was
 * missed.  events.c hands it to whole channels. */
void ws_resume_send_resync(void *session, const char *msg, size_t len,
                           void *baton);

#endif /* TIMING_WS_RESUME_H */
