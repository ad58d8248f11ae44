/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tm_upgrade.h -- the guard on the WebSocket paths (TimingWebSocket):
 * the credential is checked here, in Apache, and timing-eventd gets only
 * trusted X-Timing-* headers (timing_proto.h).
 */
#ifndef TM_UPGRADE_H
#define TM_UPGRADE_H

#include "mod_timing.h"

/* Fixups on a guarded path: removes every client-sent X-Timing-* header,
 * checks the credential for the channel and sets the trusted headers.
 * Returns OK, or the HTTP status that refuses the upgrade (401, 403, 404,
 * 503 with Retry-After when the sockets are at TimingMaxSockets).  With
 * tunnelled set (the socket will hold this worker thread) the checks run
 * on the process's guard threads while the worker waits. */
int tm_upgrade_guard(request_rec *r, const tm_srv_conf *conf,
                     tm_ws_channel channel, int tunnelled);

/* child_init: starts the threads the guard runs on (tm_upgrade.c says
 * why), and stops them when pchild goes. */
void tm_upgrade_child_init(apr_pool_t *pchild, server_rec *s);

/* A number that grows with every Apache restart, graceful or full: the
 * start time of this Apache instance (seconds) and its MPM generation.
 * The generation alone starts again at 0 when Apache is stopped and
 * started, which the daemon would take for an old generation. */
apr_int64_t tm_upgrade_generation(void);

#endif /* TM_UPGRADE_H */
