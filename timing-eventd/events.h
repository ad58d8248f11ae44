/* SPDX-License-Identifier: Apache-2.0 */
/*
 * events.h -- the events socket: datagrams from mod_timing.
 *
 * TP_EVENT is kept in the replay ring and fanned out to the subscribed
 * sessions, TP_STATS_REQUEST is answered, TP_GENERATION and TP_REVOKE
 * are handed to the WebSocket server (borrowed).  main.c creates (and closes)
 * the socket; this reads it.
 */
#ifndef TIMING_EVENTS_H
#define TIMING_EVENTS_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "hub.h"
#include "loop.h"
#include "ring.h"
#include "ws_server.h"

typedef struct events events;

/* Starts reading the bound SOCK_DGRAM socket fd, keeping every event in
 * the ring (borrowed) and resyncing sockets for a gap in the ids open
 * horizon_ms; believes only datagrams sealed with secret (borrowed);
 * NULL on failure. */
events *events_create(loop *l, hub *h, ring *r, ws_server *ws,
                      long long horizon_ms, int fd,
                      const unsigned char *secret, size_t secret_len);
/* Acts on one datagram of len bytes, as if read from the socket now;
 * from[fromlen] is whom a stats answer goes to.  on_readable's work for
 * each datagram, public so the fuzz rig can feed datagrams without a
 * socket. */
void events_handle_datagram(events *ev, const void *buf, size_t len,
                            const struct sockaddr_un *from,
                            socklen_t fromlen);
/* Reads what is waiting on the events socket now (a bounded number of
 * datagrams), before anything else of a loop turn: the kernel queues only
 * net.unix.max_dgram_qlen datagrams (10 by default), and mod_timing waits
 * for room only briefly.  Harmless once stopped. */
void events_read_first(events *ev);
/* Stops reading (shutdown); safe to call twice. */
void events_stop(events *ev);
void events_destroy(events *ev);

#endif /* TIMING_EVENTS_H */
