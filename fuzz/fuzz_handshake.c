/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_handshake.c -- the WebSocket upgrade request as timing-eventd reads
 * it from mod_proxy_wstunnel (handshake.c): hs_feed in the pieces the
 * first byte chooses, then the answer hs_response writes, and for an
 * accepted request the admission refusal's answer too.
 *
 * The parser checks the RFC only under a seal that verifies, so the
 * harness fixes both the secret and the clock (FUZZ_HS_SECRET, FUZZ_HS_NOW
 * -- fuzz/seeds.py seals its seeds with the same): a mutation that leaves
 * the sealed fields alone keeps reaching the checks behind the seal, and
 * a replayed input means the same on any day.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "handshake.h"

/* Keep in step with fuzz/seeds.py. */
static const unsigned char FUZZ_HS_SECRET[] =
    "timing handshake fuzzing secret, fixed, 32+ bytes";
#define FUZZ_HS_NOW ((int64_t)1700000000000)    /* 2023-11-14T22:13:20Z */

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
    hs_init(&r, FUZZ_HS_SECRET, sizeof FUZZ_HS_SECRET - 1, FUZZ_HS_NOW);
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
                          || r.unverified || !r.client
                          || (r.channel == HS_CHANNEL_ORDER
                              && r.order_id <= 0))) {
        abort();
    }
    /* A refusal is silent (status 0, no bytes) or an HTTP error with its
     * reason; one for the seal is always silent. */
    if (rc == HS_ERROR
        && (!r.reason || (r.status != 0 && r.status < 400)
            || (r.status == 0) != (n == 0)
            || (r.unverified && r.status != 0))) {
        abort();
    }
    if (rc == HS_DONE) {
        /* What ws_session.c does when admission says no. */
        hs_refuse_admission(&r, size & 1 ? 429 : 503, "sockets_full",
                            size & 1 ? 30 : 10);
        n = hs_response(&r, out, sizeof out);
        if (n <= 0 || (size_t)n >= sizeof out
            || memcmp(out, size & 1 ? "HTTP/1.1 429 " : "HTTP/1.1 503 ",
                      13) != 0) {
            abort();
        }
    }
    return 0;
}
