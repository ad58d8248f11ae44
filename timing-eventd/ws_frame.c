/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ws_frame.c -- a text message framed once (see ws_frame.h).
 *
 * wslay's frame layer writes the header and the payload through a send
 * callback; here the callback appends them to one buffer sized for the
 * largest header (RFC 6455: 2 + 8 bytes, no mask from a server).
 */
#include <stdlib.h>
#include <string.h>
#include <wslay/wslay.h>

#include "ws_frame.h"

#define HEADER_MAX 10

typedef struct sink {
    ws_frame *f;
    size_t cap;
} sink;

static ssize_t append(const uint8_t *data, size_t len, int flags, void *user)
{
    sink *k = user;

    (void)flags;
    if (len > k->cap - k->f->len) {
        return -1;
    }
    memcpy(k->f->bytes + k->f->len, data, len);
    k->f->len += len;
    return (ssize_t)len;
}

int ws_frame_text(ws_frame *f, const char *msg, size_t len)
{
    static const struct wslay_frame_callbacks callbacks = {
        .send_callback = append
    };
    struct wslay_frame_iocb iocb = {
        .fin = 1, .opcode = WSLAY_TEXT_FRAME, .mask = 0,
        .payload_length = len, .data = (const uint8_t *)msg,
        .data_length = len
    };
    wslay_frame_context_ptr ctx;
    sink k = { f, len + HEADER_MAX };
    ssize_t sent;

    f->len = 0;
    f->bytes = malloc(k.cap);
    if (!f->bytes || wslay_frame_context_init(&ctx, &callbacks, &k) != 0) {
        free(f->bytes);
        f->bytes = NULL;
        return -1;
    }
    sent = wslay_frame_send(ctx, &iocb);
    wslay_frame_context_free(ctx);
    if (sent != (ssize_t)len) {
        ws_frame_free(f);
        return -1;
    }
    return 0;
}

void ws_frame_free(ws_frame *f)
{
    free(f->bytes);
    f->bytes = NULL;
    f->len = 0;
}
