/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stats.c -- counters, and the stats answer mod_timing asks for.
 *
 * GET /api/admin/websocket/stats in mod_timing sends TP_STATS_REQUEST from
 * an autobound socket and waits for TP_STATS_ANSWER; this file builds that
 * answer and sends it back with sendto.  Receiving the request and knowing
 * the connection counts are left to events.c and the hub.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include <json-c/json.h>

#include "log.h"
#include "loop.h"
#include "stats.h"
#include "timing_proto.h"

stats_counters stats;

void stats_init(void)
{
    memset(&stats, 0, sizeof stats);
    stats.started_ms = loop_now_ms();
}

void stats_note_connections(size_t total)
{
    if (total > stats.peak_connections) {
        stats.peak_connections = total;
    }
}

/* A flood of forgeries must not become a flood of log lines. */
#define UNVERIFIED_LOG_EVERY_MS 10000

void stats_note_unverified(const char *what)
{
    static long long logged_ms;
    static uint64_t logged_count;
    long long now = loop_now_ms();

    stats.unverified++;
    if (logged_ms && now - logged_ms < UNVERIFIED_LOG_EVERY_MS) {
        return;
    }
    log_msg(LOG_WARN, "dropped %s whose seal does not verify (%llu such "
            "since start, %llu since the last line): not from mod_timing, "
            "sealed with another secret than --secret-file, or dated more "
            "than a minute from this clock", what,
            (unsigned long long)stats.unverified,
            (unsigned long long)(stats.unverified - logged_count));
    logged_ms = now;
    logged_count = stats.unverified;
}

static int add_int(json_object *o, const char *key, uint64_t v)
{
    json_object *n = json_object_new_int64(v > INT64_MAX ? INT64_MAX
                                                         : (int64_t)v);

    if (!n || json_object_object_add(o, key, n) != 0) {
        json_object_put(n);
        return -1;
    }
    return 0;
}

char *stats_json(size_t admin, size_t order, size_t handoff, size_t tunnel)
{
    json_object *root = json_object_new_object();
    json_object *conn = json_object_new_object();
    json_object *paths = json_object_new_object();
    const char *text;
    char *out = NULL;
    long long up = (loop_now_ms() - stats.started_ms) / 1000;

    if (!root || !conn || !paths) {
        json_object_put(root);
        json_object_put(conn);
        json_object_put(paths);
        return NULL;
    }
    if (add_int(conn, "admin", admin) || add_int(conn, "order", order)
        || add_int(conn, "total", admin + order)
        || json_object_object_add(root, "connections", conn) != 0) {
        json_object_put(conn);
        json_object_put(root);
        json_object_put(paths);
        return NULL;
    }
    /* root owns conn from here on */
    if (add_int(paths, "handoff", handoff) || add_int(paths, "tunnel", tunnel)
        || json_object_object_add(root, "sockets", paths) != 0) {
        json_object_put(paths);
        json_object_put(root);
        return NULL;
    }
    /* and paths */
    if (add_int(root, "peak_connections", stats.peak_connections)
        || add_int(root, "events_received", stats.events_received)
        || add_int(root, "messages_sent", stats.messages_sent)
        || add_int(root, "replays", stats.replays)
        || add_int(root, "resyncs", stats.resyncs)
        || add_int(root, "slow_clients_dropped", stats.slow_clients_dropped)
        || add_int(root, "recycled", stats.recycled)
        || add_int(root, "aged", stats.aged)
        || add_int(root, "revoked", stats.revoked)
        || add_int(root, "unverified", stats.unverified)
        || add_int(root, "refused_full", stats.refused_full)
        || add_int(root, "refused_share", stats.refused_share)
        || add_int(root, "handoffs", stats.handoffs)
        || add_int(root, "late_handoffs", stats.late_handoffs)
        || add_int(root, "uptime_seconds", up > 0 ? (uint64_t)up : 0)) {
        json_object_put(root);
        return NULL;
    }
    text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN);
    if (text) {
        out = strdup(text);
    }
    json_object_put(root);
    return out;
}

int stats_answer(int fd, const struct sockaddr *to, socklen_t tolen,
                 size_t admin, size_t order, size_t handoff, size_t tunnel,
                 const unsigned char *secret, size_t secret_len)
{
    unsigned char *dgram;
    char *body;
    size_t len;
    ssize_t n;

    /* An unbound sender shows up with only the family: nowhere to answer. */
    if (tolen <= (socklen_t)offsetof(struct sockaddr_un, sun_path)) {
        log_msg(LOG_DEBUG, "stats request from an unbound socket, dropped");
        return -1;
    }
    body = stats_json(admin, order, handoff, tunnel);
    if (!body) {
        log_msg(LOG_WARN, "cannot build the stats answer: out of memory");
        return -1;
    }
    len = strlen(body);
    dgram = malloc(TP_OVERHEAD + len);
    if (!dgram) {
        free(body);
        log_msg(LOG_WARN, "cannot build the stats answer: out of memory");
        return -1;
    }
    len = tp_encode(dgram, TP_STATS_ANSWER, body, len, loop_wall_ms(),
                    secret, secret_len);
    free(body);
    if (len == 0) {
        free(dgram);
        log_msg(LOG_WARN, "cannot seal the stats answer");
        return -1;
    }
    /* Never block: a requester that stopped reading loses its answer and
     * times out on its side, which is its problem, not the loop's. */
    n = sendto(fd, dgram, len, MSG_DONTWAIT | MSG_NOSIGNAL, to, tolen);
    free(dgram);
    if (n == -1) {
        log_msg(LOG_DEBUG, "cannot send the stats answer: %s",
                strerror(errno));
        return -1;
    }
    return 0;
}
