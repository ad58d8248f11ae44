/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tm_events.h -- the durable event log for clients catching up, and the
 * WebSocket service's figures.
 */
#ifndef TM_EVENTS_H
#define TM_EVENTS_H

#include "mod_timing.h"

int tm_events_list(tm_ctx *c);          /* GET /api/admin/events */
int tm_events_ws_stats(tm_ctx *c);      /* GET /api/admin/websocket/stats */

#endif /* TM_EVENTS_H */
