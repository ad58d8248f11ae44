/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tm_handoff.h -- handing an accepted WebSocket upgrade's TCP socket to
 * timing-eventd, so that no Apache worker holds it for its life.
 */
#ifndef TM_HANDOFF_H
#define TM_HANDOFF_H

#include "mod_timing.h"

/* After the guard (tm_upgrade.c) accepted and sealed r: hands the
 * client's socket with the sealed request to the daemon and waits for its
 * ack, unless why (tm_handoff_keeps_tunnel's answer, asked once before
 * the guard) says the connection keeps the tunnel.  DONE: the daemon answered the client and owns the socket (r is
 * logged with the daemon's status, nothing more is written); DECLINED:
 * this connection keeps the tunnel (TimingWebSocketHandoff off, TLS, an
 * HTTP/2 stream, a filter that changes bytes, too much read ahead).
 * When the daemon is down, does not answer in time or does not take the
 * socket, r is answered 503 with Retry-After and the API's envelope, and
 * DONE returned too. */
int tm_handoff(request_rec *r, const tm_srv_conf *conf, const char *why);

/* Why this connection keeps the tunnel (TimingWebSocketHandoff off, TLS,
 * an HTTP/2 stream, not a plain GET, a filter that changes bytes), or
 * NULL when it may be handed off. */
const char *tm_handoff_keeps_tunnel(request_rec *r, const tm_srv_conf *conf);

/* post_config: when Apache's parent exits for good (a stop, not a
 * reload), the daemon is told so (TP_APACHE_STOPPED) and says goodbye to
 * the handed-off sockets. */
void tm_handoff_watch_stop(apr_pool_t *pconf, server_rec *s);

#endif /* TM_HANDOFF_H */
