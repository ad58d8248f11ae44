/*
 * fuzz_eventd_datagram.c -- datagrams on timing-eventd's events socket
 * (timing_proto.h, events.c): decoding, the event, generation and revoke
 * bodies, the ring and the fan-out to a staff and a customer session that
 * are open meanwhile.
 *
 * The input is a run of records, each [kind][length: 2 bytes, big
 * endian][bytes].  Kind 0xff: the bytes are a whole datagram, header
 * included, as is.  Otherwise the bytes are a body and the header is
 * made for it, of type kind & 7, so the fuzzer spends its time on bodies.
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
    rig_connect(&g, rig_heads[0], strlen(rig_heads[0]));
    rig_connect(&g, rig_heads[1], strlen(rig_heads[1]));
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
            memcpy(g.ev->buf, data + off, len);
            n = len;
        }
        else {
            tp_encode_header(g.ev->buf, (uint16_t)(kind & 7), (uint32_t)len);
            memcpy(g.ev->buf + TP_HEADER_LEN, data + off, len);
            n = TP_HEADER_LEN + len;
        }
        off += len;
        handle_datagram(g.ev, n, NULL, 0);
        rig_pump(&g);
    }
    rig_check_accepted(&g);
    rig_close(&g);
    return 0;
}
