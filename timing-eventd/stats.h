/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stats.h -- the daemon's counters and the TP_STATS_ANSWER they go out in.
 *
 * One process, one set of figures: the counters are a single global that
 * the files bump directly (as redis does with server.stat_*), which is
 * plainer than threading a pointer through every call.  Connection counts
 * are not kept here but asked of the hub when answering.
 */
#ifndef TIMING_STATS_H
#define TIMING_STATS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct stats_counters {
    uint64_t events_received;       /* TP_EVENT datagrams accepted */
    uint64_t messages_sent;         /* JSON messages queued to clients */
    uint64_t replays;               /* events replayed on resumes */
    uint64_t resyncs;               /* resync messages queued */
    uint64_t slow_clients_dropped;
    /* Beyond the documented stats (objects may gain fields): */
    uint64_t recycled;              /* closed for a newer Apache generation */
    uint64_t aged;                  /* closed at the end of their lifetime */
    uint64_t revoked;               /* closed for a revoked user */
    uint64_t bad_datagrams;         /* refused: header, JSON or fields */
    uint64_t unverified;            /* dropped: the seal did not verify */
    uint64_t refused_full;          /* upgrades refused: capacity (503) */
    uint64_t refused_share;         /* upgrades refused: a share (429) */
    uint64_t handoffs;              /* sockets handed off by Apache and
                                     * answered */
    uint64_t late_handoffs;         /* closed unanswered: came too late */
    size_t peak_connections;
    long long started_ms;           /* loop_now_ms() at start */
} stats_counters;

extern stats_counters stats;

void stats_init(void);

/* Call when the number of subscribed sessions may have grown. */
void stats_note_connections(size_t total);

/* The answer body: a malloc'd JSON text the caller frees, or NULL.
 * admin and order are the subscribed sessions by channel; handoff and
 * tunnel every socket held, by how it came (handed off by Apache, or
 * tunnelled through it). */
char *stats_json(size_t admin, size_t order, size_t handoff, size_t tunnel);

/* Counts a message dropped because its seal did not verify, and says so
 * in the log -- what it was, never what it held -- at most every few
 * seconds, with how many came meanwhile. */
void stats_note_unverified(const char *what);

/* Sends TP_STATS_ANSWER, sealed, to a requester on the events socket: 0
 * or -1.  A requester that did not bind (no address to answer to) gets
 * nothing. */
int stats_answer(int fd, const struct sockaddr *to, socklen_t tolen,
                 size_t admin, size_t order, size_t handoff, size_t tunnel,
                 const unsigned char *secret,
                 size_t secret_len);

#endif /* TIMING_STATS_H */
