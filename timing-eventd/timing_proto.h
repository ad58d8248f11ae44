/*
 * timing_proto.h -- the whole contract between mod_timing and timing-eventd.
 *
 * The module includes nothing else from the daemon.  Two unix sockets:
 *
 *   event socket (SOCK_DGRAM): mod_timing sends one datagram per message:
 *       a fixed 12-byte header in network byte order, then a JSON body.
 *       Datagrams keep their boundaries, so there are no partial reads.
 *       A sender that wants an answer (stats) binds its socket first
 *       (Linux autobind) and the daemon answers to that address.
 *
 *   WebSocket socket (SOCK_STREAM): Apache's mod_proxy_wstunnel forwards
 *       the upgrade request of /admin and /orders/:id to it.  mod_timing
 *       has removed every client-sent X-Timing-* header and set the
 *       trusted ones below; the daemon believes only those.
 *
 * Both sockets are protected by file permissions: only Apache's user (and
 * the daemon's) may connect or send.
 */
#ifndef TIMING_PROTO_H
#define TIMING_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>

#define TP_MAGIC        0x544d4e31u     /* "TMN1" */
#define TP_VERSION      1
#define TP_HEADER_LEN   12
/* Largest body: an order of 50 lines with notes fits many times over, and
 * the datagram stays under the default unix socket send buffer. */
#define TP_MAX_BODY     (128 * 1024)

#define TP_DEFAULT_EVENT_SOCKET "/run/timing/events.sock"
#define TP_DEFAULT_WS_SOCKET    "/run/timing/ws.sock"

enum tp_type {
    TP_EVENT          = 1,  /* module -> daemon: a committed event */
    TP_STATS_REQUEST  = 2,  /* module -> daemon: empty body, answer wanted */
    TP_STATS_ANSWER   = 3,  /* daemon -> module: JSON figures */
    TP_GENERATION     = 4,  /* module -> daemon: Apache generation changed */
    TP_REVOKE         = 5   /* module -> daemon: {"user_id": "N",
                             * "event_id": M, "epoch": E, "failed_sends":
                             * F}, close that user's sockets; M is the
                             * revoke's outbox row, watched for gaps like
                             * an event's id but never shown */
};

/* Trusted headers set by mod_timing on a WebSocket upgrade. */
#define TP_HDR_PREFIX       "X-Timing-"
#define TP_HDR_CHANNEL      "X-Timing-Channel"     /* "admin" or "order" */
#define TP_HDR_ROLE         "X-Timing-Role"        /* admin|staff|customer */
#define TP_HDR_USER         "X-Timing-User"        /* user id, if any */
#define TP_HDR_ORDER        "X-Timing-Order"       /* order id (order channel) */
#define TP_HDR_LAST_EVENT   "X-Timing-Last-Event"  /* resume point, if any */
#define TP_HDR_RESUME_EPOCH "X-Timing-Resume-Epoch"/* epoch the client resumes in */
#define TP_HDR_EPOCH        "X-Timing-Epoch"       /* the database's epoch */
#define TP_HDR_NEWEST_EVENT "X-Timing-Newest-Event"/* the newest event in
                                                   * the database this
                                                   * channel may see (the
                                                   * order's, or any) */
#define TP_HDR_GENERATION   "X-Timing-Generation"  /* Apache generation */
#define TP_HDR_MAX_AGE      "X-Timing-Max-Age"     /* ms this socket may
                                                   * live before the daemon
                                                   * asks it to reconnect
                                                   * (jittered by the
                                                   * module); 0: no limit */
#define TP_SUBPROTOCOL      "timing.v1"

typedef struct tp_header {
    uint32_t magic;
    uint16_t version;
    uint16_t type;
    uint32_t len;           /* body length in bytes */
} tp_header;

enum tp_decode_result {
    TP_OK = 0,
    TP_ERR_SHORT = -1,      /* fewer bytes than a header */
    TP_ERR_MAGIC = -2,
    TP_ERR_VERSION = -3,
    TP_ERR_LENGTH = -4      /* len disagrees with the datagram, or too big */
};

/* Writes the header for a body of `len` bytes into out[TP_HEADER_LEN]. */
static inline void tp_encode_header(unsigned char *out, uint16_t type,
                                    uint32_t len)
{
    uint32_t magic = htonl(TP_MAGIC), blen = htonl(len);
    uint16_t version = htons(TP_VERSION), t = htons(type);

    memcpy(out, &magic, 4);
    memcpy(out + 4, &version, 2);
    memcpy(out + 6, &t, 2);
    memcpy(out + 8, &blen, 4);
}

/* Checks one whole datagram of n bytes; on TP_OK fills h and points *body
 * at the h->len body bytes inside buf (not NUL-terminated). */
static inline int tp_decode(const unsigned char *buf, size_t n,
                            tp_header *h, const char **body)
{
    uint32_t magic, len;
    uint16_t version, type;

    if (n < TP_HEADER_LEN) {
        return TP_ERR_SHORT;
    }
    memcpy(&magic, buf, 4);
    memcpy(&version, buf + 4, 2);
    memcpy(&type, buf + 6, 2);
    memcpy(&len, buf + 8, 4);
    h->magic = ntohl(magic);
    h->version = ntohs(version);
    h->type = ntohs(type);
    h->len = ntohl(len);
    if (h->magic != TP_MAGIC) {
        return TP_ERR_MAGIC;
    }
    if (h->version != TP_VERSION) {
        return TP_ERR_VERSION;
    }
    if (h->len > TP_MAX_BODY || (size_t)h->len != n - TP_HEADER_LEN) {
        return TP_ERR_LENGTH;
    }
    *body = (const char *)buf + TP_HEADER_LEN;
    return TP_OK;
}

#endif /* TIMING_PROTO_H */
