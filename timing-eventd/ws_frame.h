/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ws_frame.h -- one text message framed once, by wslay's frame layer,
 * for every session a fan-out reaches (ws_frame.c).
 *
 * A session with nothing queued writes these bytes itself
 * (ws_session_deliver) instead of copying the message into wslay's queue
 * and framing it again: at 10,000 sockets that copy and its bookkeeping
 * are most of the daemon's own time in a fan-out.
 */
#ifndef TIMING_WS_FRAME_H
#define TIMING_WS_FRAME_H

#include <stddef.h>
#include <stdint.h>

typedef struct ws_frame {
    uint8_t *bytes;         /* header and payload, one unmasked final frame */
    size_t len;
} ws_frame;

/* Frames msg as one text frame from server to client: 0, or -1 when out
 * of memory (f is then empty).  ws_frame_free releases it. */
int ws_frame_text(ws_frame *f, const char *msg, size_t len);
void ws_frame_free(ws_frame *f);

#endif /* TIMING_WS_FRAME_H */
