/* SPDX-License-Identifier: Apache-2.0 */
/*
 * handoff.c -- takes a client's TCP socket that Apache handed off, and
 * acknowledges it.
 *
 * The message (timing_proto.h, TP_HANDOFF) holds the request head the
 * tunnel would have forwarded, sealed X-Timing-* headers and all, and
 * whatever the client sent after it: the WebSocket server decides on it
 * exactly as on the tunnel (handshake.c, admit.c) and answers on the
 * socket.  Apache and this process share one open file: the descriptor
 * is made non-blocking here (Apache's may not be), and a session that
 * took it shuts it down before closing it (ws_session.c), since Apache
 * only ever close()s its own.  One not taken is closed and nothing more:
 * the ack says so and Apache answers the client itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "handoff.h"
#include "log.h"
#include "loop.h"
#include "stats.h"
#include "timing_proto.h"

/* The ack: {"id":"<hex>","status":S}, sealed, to the sender alone. */
static void ack(int sock, const struct sockaddr *to, socklen_t tolen,
                const char *id, int status, const unsigned char *secret,
                size_t secret_len)
{
    unsigned char dgram[TP_OVERHEAD + 128];
    char body[96];
    int n = snprintf(body, sizeof body, "{\"id\":\"%s\",\"status\":%d}", id,
                     status);
    size_t len;

    if (n < 0 || (size_t)n >= sizeof body) {
        return;
    }
    len = tp_encode(dgram, TP_HANDOFF_ACK, body, (size_t)n, loop_wall_ms(),
                    secret, secret_len);
    if (len == 0
        || sendto(sock, dgram, len, MSG_DONTWAIT | MSG_NOSIGNAL, to, tolen)
           == -1) {
        log_msg(LOG_WARN, "cannot acknowledge hand-off %s: %s", id,
                len ? strerror(errno) : "sealing failed");
    }
}

/* A connected stream socket, made non-blocking: 0 or -1. */
static int usable(int fd)
{
    int type = 0, flags;
    socklen_t len = sizeof type;

    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == -1
        || type != SOCK_STREAM) {
        return -1;
    }
    flags = fcntl(fd, F_GETFL);
    return flags == -1 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1
           ? -1 : 0;
}

void handoff_take(ws_server *ws, int sock, int fd, int64_t sent_ms,
                  const char *body,
                  size_t len, const struct sockaddr *from, socklen_t fromlen,
                  const unsigned char *secret, size_t secret_len)
{
    char id[TP_HANDOFF_ID_LEN + 1];
    const char *bytes;
    size_t n;
    int status;

    if (tp_handoff_decode(body, len, id, &bytes, &n) != 0) {
        stats.bad_datagrams++;
        log_msg(LOG_DEBUG, "hand-off datagram without an id, dropped");
        if (fd != -1) {
            close(fd);
        }
        return;
    }
    if (fd != -1 && loop_wall_ms() - sent_ms > TP_HANDOFF_TAKE_MS) {
        stats.late_handoffs++;
        log_msg(LOG_WARN, "hand-off %s came %lld ms after it was sent: "
                "Apache answers it", id, (long long)(loop_wall_ms() - sent_ms));
        close(fd);
        ack(sock, from, fromlen, id, 0, secret, secret_len);
        return;
    }
    if (fd == -1 || usable(fd) != 0) {
        stats.bad_datagrams++;
        log_msg(LOG_INFO, "hand-off %s came without a usable socket", id);
        if (fd != -1) {
            close(fd);
        }
        ack(sock, from, fromlen, id, 0, secret, secret_len);
        return;
    }
    status = ws_server_adopt(ws, fd, bytes, n);
    if (status) {
        stats.handoffs++;
    }
    log_msg(LOG_DEBUG, "hand-off %s: answered %d", id, status);
    ack(sock, from, fromlen, id, status, secret, secret_len);
}

void handoff_apache_stopped(ws_server *ws)
{
    size_t n = ws_server_stop_handoffs(ws, HANDOFF_STOP_GRACE_MS);

    log_msg(LOG_INFO, "Apache stopped: %zu handed-off session(s) told to "
            "go", n);
}
