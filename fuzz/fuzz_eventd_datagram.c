/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_eventd_datagram.c -- datagrams on timing-eventd's events socket
 * (timing_proto.h, events.c): decoding, the event, generation and revoke
 * bodies, the ring and the fan-out to a staff and a customer session that
 * are open meanwhile.
 *
 * The input is a run of records, each [kind][length: 2 bytes, big
 * endian][bytes].  Kind 0xff: the bytes are a whole datagram, header
 * and seal included, as is -- so, unless the fuzzer forges HMAC-SHA256,
 * the refusals of tp_decode and the count of unverified datagrams.
 * Otherwise the bytes are a body, and the header of type kind & 7 and the
 * seal (the rig's secret, sent now) are made for it, as mod_timing makes
 * them, so the fuzzer spends its time on bodies the daemon believes.
 */
#include <stdint.h>

#include "eventd_rig.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    rig_init();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rig g;
    size_t off = 0;

    rig_open(&g);
    rig_upgrade(&g, 0);
    rig_upgrade(&g, 1);
    rig_pump(&g);
    /* Both are open and greeted before the first datagram. */
    if (!rig_client_got(&g, 0, "\"type\":\"connection\"")
        || !rig_client_got(&g, 1, "\"type\":\"connection\"")) {
        abort();
    }
    while (off + 3 <= size) {
        unsigned kind = data[off];
        size_t len = (size_t)data[off + 1] << 8 | data[off + 2], n;

        off += 3;
        if (len > size - off) {
            len = size - off;
        }
        if (kind == 0xff) {
            memcpy(g.buf, data + off, len);
            n = len;
        }
        else {
            memcpy(g.buf + TP_HEADER_LEN, data + off, len);
            n = rig_seal(g.buf, (uint16_t)(kind & 7), len);
        }
        off += len;
        rig_feed(&g, n);
        rig_pump(&g);
    }
    rig_check_accepted(&g);
    rig_close(&g);
    return 0;
}
