/* SPDX-License-Identifier: Apache-2.0 */
/*
 * handoff.h -- client sockets Apache hands off (TP_HANDOFF), and what
 * becomes of them when Apache stops for good (TP_APACHE_STOPPED).
 *
 * events.c reads the datagram, verifies its seal and receives the
 * descriptor that came with it; this takes both from there.
 */
#ifndef TIMING_HANDOFF_H
#define TIMING_HANDOFF_H

#include <stddef.h>
#include <sys/socket.h>

#include "ws_server.h"

/* How long handed-off sessions get for their goodbye when Apache stops. */
#define HANDOFF_STOP_GRACE_MS 2000

/* A sealed TP_HANDOFF body of len bytes, sealed at sent_ms, came with fd
 * (the client's TCP socket; -1 when none came).  fd is always taken:
 * adopted by the WebSocket server, or closed -- never shut down, Apache
 * answers on it then; one older than TP_HANDOFF_TAKE_MS is closed.  The
 * ack goes (sealed, with secret) from the events socket sock to the
 * sender at from[fromlen]. */
void handoff_take(ws_server *ws, int sock, int fd, int64_t sent_ms,
                  const char *body,
                  size_t len, const struct sockaddr *from, socklen_t fromlen,
                  const unsigned char *secret, size_t secret_len);

/* Apache stopped for good: the handed-off sessions say goodbye
 * ("disconnect", "shutdown") and close. */
void handoff_apache_stopped(ws_server *ws);

#endif /* TIMING_HANDOFF_H */
