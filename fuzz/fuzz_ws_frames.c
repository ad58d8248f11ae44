/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_ws_frames.c -- what a WebSocket client sends once its upgrade is
 * accepted: the fuzzed bytes reach wslay through the session's recv
 * callback (ws_session.c), and whole messages the session's own handler
 * ({"type":"ping"} and everything it ignores).
 *
 * The first byte picks the upgrade (eventd_rig.h: staff, customer,
 * resuming ones, each sealed when sent); the rest follows the request
 * head on the same connection, as a client that does not wait for the
 * 101 sends it.  Once
 * the daemon has answered, the client half-closes.
 */
#include <stdint.h>

#include "eventd_rig.h"

static int have_events;

static void seed_events(rig *g);

/* The rig itself must work, or the fuzzing proves nothing: the sealed
 * events are kept, and a staff client that pings gets the 101, its
 * connection message and a pong. */
static void self_test(void)
{
    static const char ping[] = "\x81\x8f" "abcd" "\x1a\x40\x17\x1d\x11"
                               "\x07\x41\x5e\x43\x12\x0a\x0a\x06\x40\x1e";
    rig g;
    int fd;

    rig_open(&g);
    seed_events(&g);
    /* the seeded events were sealed right, so believed and kept */
    if (ring_count(g.r) != 3 || stats.unverified != 0) {
        dprintf(2, "fuzz rig self-test: seeded events not kept\n");
        abort();
    }
    fd = rig_upgrade(&g, 0);
    if (send(fd, ping, sizeof ping - 1, MSG_NOSIGNAL) != sizeof ping - 1) {
        abort();
    }
    rig_pump(&g);
    if (!rig_client_got(&g, 0, "HTTP/1.1 101")
        || !rig_client_got(&g, 0, "\"type\":\"connection\"")
        || !rig_client_got(&g, 0, "\"type\":\"pong\"")) {
        dprintf(2, "fuzz rig self-test failed\n");
        abort();
    }
    rig_close(&g);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    rig_init();
    self_test();
    return 0;
}

/* A few events in the ring, so the resuming upgrades replay some. */
static void seed_events(rig *g)
{
    static const char *const events[] = {
        "{\"event_id\":1,\"order_id\":1,\"type\":\"newOrder\",\"epoch\":"
        "\"e1\",\"staff\":{\"type\":\"newOrder\",\"event_id\":1}}",
        "{\"event_id\":2,\"order_id\":2,\"type\":\"orderStatusUpdate\","
        "\"epoch\":\"e1\",\"staff\":{\"event_id\":2},\"customer\":"
        "{\"event_id\":2}}",
        "{\"event_id\":3,\"order_id\":2,\"type\":\"orderStatusUpdate\","
        "\"epoch\":\"e1\",\"staff\":{\"event_id\":3},\"customer\":"
        "{\"event_id\":3}}",
    };
    size_t i;

    for (i = 0; i < sizeof events / sizeof events[0]; i++) {
        size_t len = strlen(events[i]);

        memcpy(g->buf + TP_HEADER_LEN, events[i], len);
        rig_feed(g, rig_seal(g->buf, TP_EVENT, len));
    }
    have_events = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rig g;
    int fd;

    if (size < 1 || size > 65536) {
        return 0;
    }
    rig_open(&g);
    seed_events(&g);
    fd = rig_upgrade(&g, data[0]);
    if (size > 1 && send(fd, data + 1, size - 1, MSG_NOSIGNAL)
                    != (ssize_t)(size - 1)) {
        abort();
    }
    rig_pump(&g);
    rig_check_accepted(&g);
    /* Then the client leaves (half-close), with whatever is unsent. */
    shutdown(fd, SHUT_WR);
    rig_pump(&g);
    rig_close(&g);
    return 0;
}
