/*
 * fuzz_handshake.c -- the WebSocket upgrade request as timing-eventd reads
 * it from mod_proxy_wstunnel (handshake.c): hs_feed in the pieces the
 * first byte chooses, then the answer hs_response writes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "handshake.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static hs_request r;        /* 8 KiB: not on the stack */
    char out[HS_RESPONSE_MAX];
    size_t chunk, off = 0, used;
    int rc = HS_NEED_MORE, n;

    if (size < 1) {
        return 0;
    }
    /* Reads arrive in pieces of any size; 0 means all at once. */
    chunk = data[0] ? data[0] : size;
    data++;
    size--;
    hs_init(&r);
    while (off < size) {
        size_t take = size - off < chunk ? size - off : chunk;

        rc = hs_feed(&r, (const char *)data + off, take, &used);
        if (used > take) {
            abort();
        }
        off += used;
        if (rc != HS_NEED_MORE) {
            break;
        }
        if (used < take) {
            abort();            /* undecided, yet bytes left unused */
        }
    }
    n = hs_response(&r, out, sizeof out);
    if (rc == HS_NEED_MORE ? n != -1 : (n < 0 || (size_t)n >= sizeof out)) {
        abort();
    }
    if (rc == HS_DONE && (r.status != 101 || r.channel == HS_CHANNEL_NONE
                          || (r.channel == HS_CHANNEL_ORDER
                              && r.order_id <= 0))) {
        abort();
    }
    if (rc == HS_ERROR && (r.status < 400 || !r.reason)) {
        abort();
    }
    return 0;
}
