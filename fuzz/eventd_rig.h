/* SPDX-License-Identifier: Apache-2.0 */
/*
 * eventd_rig.h -- timing-eventd's real parts wired as main.c wires them
 * (loop, hub, ring, WebSocket server, events socket), for the daemon's
 * fuzz harnesses.
 *
 * The daemon's files (all but main.c) are linked as they are
 * (mk/fuzz.mk), and the rig calls the entry points epoll would reach
 * directly: events_handle_datagram for a datagram, ws_server_accept for
 * a connection, ws_session_io for a session's socket.  Sessions come
 * through a real listening unix socket and real connections, and are
 * driven by calling their I/O handler until nothing more moves.
 *
 * The daemon believes only what mod_timing sealed (timing_proto.h), so
 * the rig holds a fixed secret of its own and seals what it sends as
 * mod_timing would, at the time it sends it: every upgrade (rig_upgrade)
 * and every datagram (rig_seal).  A seal made once at start-up would go
 * out of date after TP_SEAL_WINDOW_MS of fuzzing.
 */
#ifndef FUZZ_EVENTD_RIG_H
#define FUZZ_EVENTD_RIG_H

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "events.h"
#include "hub.h"
#include "log.h"
#include "loop.h"
#include "ring.h"
#include "stats.h"
#include "timing_proto.h"
#include "ws_server.h"
#include "ws_session.h"

#define RIG_MAX_CLIENTS 4
#define RIG_ROUNDS      256

typedef struct rig {
    loop *l;
    hub *h;
    ring *r;
    ws_server *srv;
    events *ev;
    int ev_fds[2];              /* [0] the daemon's events socket */
    unsigned char *buf;         /* one datagram, as big as the daemon's */
    int clients[RIG_MAX_CLIENTS];
    char answers[RIG_MAX_CLIENTS][4096];    /* what each client got first */
    size_t answered[RIG_MAX_CLIENTS];
    int nclients;
} rig;

static const unsigned char rig_secret[] =
    "timing-eventd fuzz rig: a fixed secret, not a real one";
#define RIG_SECRET_LEN (sizeof rig_secret - 1)

static int rig_listen_fd = -1;
static struct sockaddr_un rig_addr;
static socklen_t rig_addr_len;

static const ws_config rig_config = {
    .max_queue = 64 * 1024,
    .max_message = 4096,
    .ping_interval_ms = 25000,
    .pong_timeout_ms = 60000,
    .recycle_spread_ms = 5000,
    .secret = rig_secret,
    .secret_len = RIG_SECRET_LEN
};

/* Once per process: a listener on an abstract address of our own, and
 * the daemon's log silenced.  Its lines go through the stderr FILE; the
 * sanitizers and libFuzzer write to the descriptor, so they still speak.
 * Debug level keeps every log call's formatting exercised; FUZZ_LOG=1
 * shows the lines when a reproducer needs explaining. */
static void rig_init(void)
{
    FILE *null = getenv("FUZZ_LOG") ? NULL : fopen("/dev/null", "w");

    if (null) {
        stderr = null;      /* FUZZ_LOG=1 keeps the daemon's lines */
    }
    log_set_level(LOG_DEBUG);
    stats_init();
    memset(&rig_addr, 0, sizeof rig_addr);
    rig_addr.sun_family = AF_UNIX;
    snprintf(rig_addr.sun_path + 1, sizeof rig_addr.sun_path - 1,
             "timing-fuzz-%d", (int)getpid());
    rig_addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1
                               + strlen(rig_addr.sun_path + 1));
    rig_listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (rig_listen_fd == -1
        || bind(rig_listen_fd, (struct sockaddr *)&rig_addr,
                rig_addr_len) == -1
        || listen(rig_listen_fd, 64) == -1) {
        perror("fuzz rig listener");
        abort();
    }
}

static void rig_open(rig *g)
{
    memset(g, 0, sizeof *g);
    g->l = loop_create(64);
    g->h = hub_create(64);
    g->r = ring_create(32, 1024 * 1024);
    g->buf = malloc(TP_OVERHEAD + TP_MAX_BODY);
    if (!g->l || !g->h || !g->r || !g->buf
        || socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0,
                      g->ev_fds) == -1) {
        abort();
    }
    g->srv = ws_server_create(g->l, g->h, g->r, &rig_config);
    if (!g->srv || ws_server_listen(g->srv, rig_listen_fd) == -1) {
        abort();
    }
    g->ev = events_create(g->l, g->h, g->r, g->srv, 2000, g->ev_fds[0],
                          rig_secret, RIG_SECRET_LEN);
    if (!g->ev) {
        abort();
    }
}

/* Connects a client, lets the server accept it and sends it head. */
static int rig_connect(rig *g, const char *head, size_t len)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int size = 1024 * 1024;

    if (fd == -1 || g->nclients == RIG_MAX_CLIENTS
        || connect(fd, (struct sockaddr *)&rig_addr, rig_addr_len) == -1) {
        abort();
    }
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    ws_server_accept(g->srv);
    if (len && send(fd, head, len, MSG_NOSIGNAL) != (ssize_t)len) {
        abort();
    }
    g->clients[g->nclients++] = fd;
    return fd;
}

/* Reads and drops what the server wrote to its clients: bytes read. */
static size_t rig_drain(rig *g)
{
    char buf[16384];
    size_t total = 0;
    int i;

    for (i = 0; i < g->nclients; i++) {
        ssize_t n;

        while ((n = recv(g->clients[i], buf, sizeof buf, 0)) > 0) {
            size_t keep = sizeof g->answers[i] - 1 - g->answered[i];

            keep = keep < (size_t)n ? keep : (size_t)n;
            memcpy(g->answers[i] + g->answered[i], buf, keep);
            g->answered[i] += keep;
            total += (size_t)n;
        }
    }
    return total;
}

static void rig_io(ws_session *s, void *baton)
{
    (void)baton;
    ws_session_io(s, LOOP_READABLE | LOOP_WRITABLE);
}

/* Sets *baton when the session's socket holds input not yet read. */
static void rig_pending(ws_session *s, void *baton)
{
    int fd = ws_session_fd(s), n = 0;

    if (fd != -1 && ioctl(fd, FIONREAD, &n) == 0 && n > 0) {
        *(int *)baton = 1;
    }
}

/* Runs every session's I/O handler, as epoll would, then the loop's
 * before-sleep work, until no session has input left and nothing more
 * reaches the clients. */
static void rig_pump(rig *g)
{
    int round;

    for (round = 0; round < RIG_ROUNDS; round++) {
        int pending = 0;

        ws_server_each(g->srv, rig_io, NULL);
        ws_server_before_sleep(g->srv);
        ws_server_each(g->srv, rig_pending, &pending);
        if (rig_drain(g) == 0 && !pending) {
            break;
        }
    }
}

/* Every upgrade the rig sends is one the daemon accepts: the first thing
 * a client gets is the 101.  (Or nothing: garbage sent with the request
 * may fail the connection before the answer is out, which is allowed.) */
static void rig_check_accepted(const rig *g)
{
    int i;

    for (i = 0; i < g->nclients; i++) {
        if (g->answered[i] > 0
            && (g->answered[i] < 12
                || memcmp(g->answers[i], "HTTP/1.1 101", 12) != 0)) {
            abort();
        }
    }
}

/* Did client i get text holding needle (server frames are unmasked)? */
static int rig_client_got(const rig *g, int i, const char *needle)
{
    return memmem(g->answers[i], g->answered[i], needle, strlen(needle))
           != NULL;
}

static void rig_close(rig *g)
{
    int i;

    events_destroy(g->ev);
    ws_server_stop_accepting(g->srv);
    ws_server_destroy(g->srv);
    ring_destroy(g->r);
    hub_destroy(g->h);
    loop_destroy(g->l);
    close(g->ev_fds[0]);
    close(g->ev_fds[1]);
    free(g->buf);
    for (i = 0; i < g->nclients; i++) {
        close(g->clients[i]);
    }
}

/* Seals a datagram whose header is made here and whose body is already
 * at buf + TP_HEADER_LEN, as mod_timing does, now: its whole length.
 * events_handle_datagram then takes it (rig_feed). */
static size_t rig_seal(unsigned char *buf, uint16_t type, size_t len)
{
    size_t n = tp_encode(buf, type, buf + TP_HEADER_LEN, len, loop_wall_ms(),
                         rig_secret, RIG_SECRET_LEN);

    if (n == 0) {
        abort();
    }
    return n;
}

/* Hands the daemon the n-byte datagram in g->buf, as its events socket
 * would (no sender address: a stats answer goes to the socket's peer). */
static void rig_feed(rig *g, size_t n)
{
    events_handle_datagram(g->ev, g->buf, n, NULL, 0);
}

/* Upgrade requests as mod_timing forwards them: the trusted headers each
 * sets (by enum tp_upgrade_field; the key, epoch, generation, client and
 * limits are the same for all), then X-Timing-Sent and X-Timing-Seal made
 * by rig_upgrade.  The limits admit every socket the rig opens. */
#define RIG_KEY     "dGhlIHNhbXBsZSBub25jZQ=="
#define RIG_CLIENT  "192.0.2.1"
#define RIG_LIMITS  "64 8 0 0"
#define RIG_PREFIX \
    "GET /admin HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n" \
    "Connection: Upgrade\r\nSec-WebSocket-Key: " RIG_KEY "\r\n" \
    "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: timing.v1\r\n"
#define RIG_COMMON \
    [TP_UF_WS_KEY] = RIG_KEY, [TP_UF_EPOCH] = "e1", \
    [TP_UF_GENERATION] = "1", [TP_UF_CLIENT] = RIG_CLIENT, \
    [TP_UF_LIMITS] = RIG_LIMITS

static const char *const rig_heads[][TP_UF_COUNT] = {
    { RIG_COMMON, [TP_UF_CHANNEL] = "admin", [TP_UF_ROLE] = "staff",
      [TP_UF_USER] = "7" },
    { RIG_COMMON, [TP_UF_CHANNEL] = "order", [TP_UF_ORDER] = "1",
      [TP_UF_ROLE] = "customer" },
    { RIG_COMMON, [TP_UF_CHANNEL] = "admin", [TP_UF_ROLE] = "admin",
      [TP_UF_USER] = "1", [TP_UF_LAST_EVENT] = "2",
      [TP_UF_RESUME_EPOCH] = "same", [TP_UF_MAX_AGE] = "1" },
    { RIG_COMMON, [TP_UF_CHANNEL] = "order", [TP_UF_ORDER] = "2",
      [TP_UF_LAST_EVENT] = "1", [TP_UF_RESUME_EPOCH] = "other" },
};
#define RIG_NHEADS (sizeof rig_heads / sizeof rig_heads[0])

/* Writes upgrade i, sealed now, into out[cap]: its length. */
static size_t rig_head(size_t i, char *out, size_t cap)
{
    const char *values[TP_UF_COUNT];
    char scratch[2048], seal[TP_SEAL_HEX_LEN + 1], sent[24];
    size_t used;
    int f, n;

    memcpy(values, rig_heads[i], sizeof values);
    snprintf(sent, sizeof sent, "%lld", loop_wall_ms());
    values[TP_UF_SENT] = sent;
    if (tp_seal_upgrade(rig_secret, RIG_SECRET_LEN, values, scratch,
                        sizeof scratch, seal) != 0) {
        abort();
    }
    used = (size_t)snprintf(out, cap, "%s", RIG_PREFIX);
    for (f = TP_UF_CHANNEL; f < TP_UF_COUNT; f++) {
        if (values[f]) {
            n = snprintf(out + used, cap - used, "%s: %s\r\n",
                         tp_upgrade_headers[f], values[f]);
            used += (size_t)n;
        }
    }
    n = snprintf(out + used, cap - used, TP_HDR_SEAL ": %s\r\n\r\n", seal);
    used += (size_t)n;
    if (used >= cap) {
        abort();
    }
    return used;
}

/* Connects a client with upgrade i (mod RIG_NHEADS), sealed now. */
static int rig_upgrade(rig *g, size_t i)
{
    char head[2048];
    size_t len = rig_head(i % RIG_NHEADS, head, sizeof head);

    return rig_connect(g, head, len);
}

#endif /* FUZZ_EVENTD_RIG_H */
