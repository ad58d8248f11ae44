/* SPDX-License-Identifier: Apache-2.0 */
/*
 * timing_proto.h -- the whole contract between mod_timing and timing-eventd.
 *
 * The module includes nothing else from the daemon.  Two unix sockets:
 *
 *   event socket (SOCK_DGRAM): mod_timing sends one datagram per message:
 *       a fixed 20-byte header in network byte order, a JSON body, then a
 *       seal.  Datagrams keep their boundaries, so there are no partial
 *       reads.  A sender that wants an answer (stats) binds its socket
 *       first (Linux autobind) and the daemon answers to that address,
 *       sealed the same way.
 *
 *   WebSocket socket (SOCK_STREAM): Apache's mod_proxy_wstunnel forwards
 *       the upgrade request of /admin and /orders/:id to it.  mod_timing
 *       has removed every client-sent X-Timing-* header and set the
 *       trusted ones below, sealed by X-Timing-Seal; the daemon believes
 *       only those, and only when the seal verifies.
 *
 *   The hand-off (TP_HANDOFF, on the event socket): instead of tunnelling
 *       a plaintext HTTP/1.1 upgrade, mod_timing passes the client's TCP
 *       socket itself (SCM_RIGHTS) with the same request head the tunnel
 *       would have forwarded, sealed headers and all, and any bytes the
 *       client sent after it.  The daemon decides on it exactly as on the
 *       tunnel, answers the client on its socket and owns it from then on;
 *       it acknowledges with TP_HANDOFF_ACK to the sender's autobound
 *       address, and the Apache worker lets the connection go.
 *
 * File permissions keep strangers off both sockets, but every process of
 * the web server's user (a PHP-FPM pool, a CGI script) passes them.  So
 * every message from mod_timing carries a seal: HMAC-SHA256 under a
 * secret only root (Apache's parent reads it before it drops privileges)
 * and the daemon can read, over the message and the time it was sent.
 * A message whose seal does not verify, or that is older than
 * TP_SEAL_WINDOW_MS, is dropped unanswered.
 */
#ifndef TIMING_PROTO_H
#define TIMING_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#define TP_MAGIC        0x544d4e31u     /* "TMN1" */
#define TP_VERSION      2               /* 2: sealed */
#define TP_HEADER_LEN   20
#define TP_SEAL_LEN     32              /* HMAC-SHA256 */
#define TP_OVERHEAD     (TP_HEADER_LEN + TP_SEAL_LEN)
/* Largest body: an order of 50 lines with notes fits many times over, and
 * the datagram stays under the default unix socket send buffer. */
#define TP_MAX_BODY     (128 * 1024)
/* The shared secret: random bytes, at least this many. */
#define TP_MIN_SECRET_LEN 32
#define TP_MAX_SECRET_LEN 4096
/* How old a sealed message may be.  Apache and the daemon share a clock;
 * the window only bounds the life of a sealed message that leaked (an
 * upgrade's headers in a trace log, say). */
#define TP_SEAL_WINDOW_MS 60000

#define TP_DEFAULT_EVENT_SOCKET "/run/timing/events.sock"
#define TP_DEFAULT_WS_SOCKET    "/run/timing/ws.sock"

enum tp_type {
    TP_EVENT          = 1,  /* module -> daemon: a committed event */
    TP_STATS_REQUEST  = 2,  /* module -> daemon: empty body, answer wanted */
    TP_STATS_ANSWER   = 3,  /* daemon -> module: JSON figures */
    TP_GENERATION     = 4,  /* module -> daemon: Apache generation changed */
    TP_REVOKE         = 5,  /* module -> daemon: {"user_id": "N",
                             * "event_id": M, "epoch": E, "failed_sends":
                             * F}, close that user's sockets; M is the
                             * revoke's outbox row, watched for gaps like
                             * an event's id but never shown */
    TP_HANDOFF        = 6,  /* module -> daemon, with one fd (SCM_RIGHTS):
                             * the body of tp_handoff_encode; answer
                             * wanted */
    TP_HANDOFF_ACK    = 7,  /* daemon -> module: {"id": "<hex>", "status":
                             * S}: S is what the daemon answered the
                             * client (101, 400, 429, 503...) and the
                             * socket is the daemon's; 0: not taken, the
                             * module still owns it and answers itself */
    TP_APACHE_STOPPED = 8   /* module (Apache's parent, stopping for good,
                             * not a reload) -> daemon: {"generation": G};
                             * the handed-off sockets are told
                             * "disconnect" "shutdown" and closed */
};

/* A hand-off's body: TP_HANDOFF_ID_LEN hex digits naming it (random, the
 * ack repeats them), a newline, then the bytes the tunnel would have
 * forwarded: the request head up to its blank line, then whatever the
 * client sent after it that Apache had already read.  The daemon finds
 * the end of the head as it does on the tunnel. */
#define TP_HANDOFF_ID_LEN   32
/* What Apache may have read past the head and still hand off. */
#define TP_HANDOFF_MAX_EXTRA (16 * 1024)
/* How long the module waits for the daemon's ack. */
#define TP_HANDOFF_ACK_MS   2000
/* How old a hand-off the daemon still takes: well inside the module's
 * wait, so that a daemon that was too busy never takes a client Apache
 * has already answered 503 (the late hand-off is closed unanswered). */
#define TP_HANDOFF_TAKE_MS  (TP_HANDOFF_ACK_MS / 2)

/* Trusted headers set by mod_timing on a WebSocket upgrade. */
#define TP_HDR_PREFIX       "X-Timing-"
#define TP_HDR_CHANNEL      "X-Timing-Channel"     /* "admin" or "order" */
#define TP_HDR_ROLE         "X-Timing-Role"        /* admin|staff|customer */
#define TP_HDR_USER         "X-Timing-User"        /* user id, if any */
#define TP_HDR_ORDER        "X-Timing-Order"       /* order id (order channel) */
#define TP_HDR_LAST_EVENT   "X-Timing-Last-Event"  /* resume point, if any */
#define TP_HDR_RESUME_EPOCH "X-Timing-Resume-Epoch"/* TP_RESUME_SAME or
                                                   * TP_RESUME_OTHER: the
                                                   * module compared the
                                                   * client's epoch with the
                                                   * database's; the client's
                                                   * value never travels */
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
#define TP_HDR_CLIENT       "X-Timing-Client"      /* the client's address
                                                   * (after mod_remoteip) */
#define TP_HDR_LIMITS       "X-Timing-Limits"      /* admission: "S T O A
                                                   * U": sockets, kept for
                                                   * staff, per order, per
                                                   * address, tunnelled */
#define TP_HDR_SENT         "X-Timing-Sent"        /* ms since the epoch */
#define TP_HDR_SEAL         "X-Timing-Seal"        /* hex HMAC of the rest */
#define TP_SUBPROTOCOL      "timing.v1"

/* The two values of X-Timing-Resume-Epoch. */
#define TP_RESUME_SAME      "same"
#define TP_RESUME_OTHER     "other"

/* What an upgrade's seal covers, in this order: the client's
 * Sec-WebSocket-Key (so a seal belongs to one handshake) and every
 * trusted header but the seal itself.  Not the path: the channel and the
 * order are in the headers, and ProxyPass may map the path. */
enum tp_upgrade_field {
    TP_UF_WS_KEY, TP_UF_CHANNEL, TP_UF_ROLE, TP_UF_USER,
    TP_UF_ORDER, TP_UF_LAST_EVENT, TP_UF_RESUME_EPOCH, TP_UF_EPOCH,
    TP_UF_GENERATION, TP_UF_NEWEST_EVENT, TP_UF_MAX_AGE, TP_UF_CLIENT,
    TP_UF_LIMITS, TP_UF_SENT, TP_UF_COUNT
};
/* The header of each field from TP_UF_CHANNEL on (NULL before it). */
static const char *const tp_upgrade_headers[TP_UF_COUNT] = {
    NULL, TP_HDR_CHANNEL, TP_HDR_ROLE, TP_HDR_USER, TP_HDR_ORDER,
    TP_HDR_LAST_EVENT, TP_HDR_RESUME_EPOCH, TP_HDR_EPOCH, TP_HDR_GENERATION,
    TP_HDR_NEWEST_EVENT, TP_HDR_MAX_AGE, TP_HDR_CLIENT, TP_HDR_LIMITS,
    TP_HDR_SENT
};
#define TP_SEAL_HEX_LEN (2 * TP_SEAL_LEN)

typedef struct tp_header {
    uint32_t magic;
    uint16_t version;
    uint16_t type;
    uint32_t len;           /* body length in bytes */
    int64_t sent_ms;        /* when the sender sealed it */
} tp_header;

enum tp_decode_result {
    TP_OK = 0,
    TP_ERR_SHORT = -1,      /* fewer bytes than a header and a seal */
    TP_ERR_MAGIC = -2,
    TP_ERR_VERSION = -3,
    TP_ERR_LENGTH = -4,     /* len disagrees with the datagram, or too big */
    TP_ERR_SEAL = -5,       /* not sealed with our secret */
    TP_ERR_STALE = -6       /* sealed, but outside TP_SEAL_WINDOW_MS */
};

/* Writes the header for a body of `len` bytes sealed at sent_ms into
 * out[TP_HEADER_LEN]. */
static inline void tp_encode_header(unsigned char *out, uint16_t type,
                                    uint32_t len, int64_t sent_ms)
{
    uint32_t magic = htonl(TP_MAGIC), blen = htonl(len);
    uint32_t hi = htonl((uint32_t)((uint64_t)sent_ms >> 32));
    uint32_t lo = htonl((uint32_t)((uint64_t)sent_ms & 0xffffffffu));
    uint16_t version = htons(TP_VERSION), t = htons(type);

    memcpy(out, &magic, 4);
    memcpy(out + 4, &version, 2);
    memcpy(out + 6, &t, 2);
    memcpy(out + 8, &blen, 4);
    memcpy(out + 12, &hi, 4);
    memcpy(out + 16, &lo, 4);
}

/* HMAC-SHA256 of n bytes under the secret into out[TP_SEAL_LEN]: 0, or
 * -1 when OpenSSL fails. */
static inline int tp_mac(const unsigned char *secret, size_t secret_len,
                         const void *data, size_t n,
                         unsigned char out[TP_SEAL_LEN])
{
    unsigned int len = 0;

    return HMAC(EVP_sha256(), secret, (int)secret_len,
                (const unsigned char *)data, n, out, &len) && len
           == TP_SEAL_LEN ? 0 : -1;
}

/* Seals a datagram whose header and body fill buf[0 .. n): the seal goes
 * to buf[n .. n + TP_SEAL_LEN), so buf must have room for it.  Returns
 * the datagram's whole length, or 0 when sealing failed. */
static inline size_t tp_seal(unsigned char *buf, size_t n,
                             const unsigned char *secret, size_t secret_len)
{
    return tp_mac(secret, secret_len, buf, n, buf + n) == 0
           ? n + TP_SEAL_LEN : 0;
}

/* Header, body and seal of a datagram: header and body in buf (room for
 * the seal after them), then sealed.  The body may already be in place
 * (body == buf + TP_HEADER_LEN).  Returns the length, 0 on failure. */
static inline size_t tp_encode(unsigned char *buf, uint16_t type,
                               const void *body, size_t len, int64_t now_ms,
                               const unsigned char *secret,
                               size_t secret_len)
{
    tp_encode_header(buf, type, (uint32_t)len, now_ms);
    if (len && body != buf + TP_HEADER_LEN) {
        memmove(buf + TP_HEADER_LEN, body, len);
    }
    return tp_seal(buf, TP_HEADER_LEN + len, secret, secret_len);
}

/* Checks one whole datagram of n bytes -- form, seal, then age -- and on
 * TP_OK fills h and points *body at the h->len body bytes inside buf (not
 * NUL-terminated).  Nothing of a datagram that fails is to be believed. */
static inline int tp_decode(const unsigned char *buf, size_t n,
                            const unsigned char *secret, size_t secret_len,
                            int64_t now_ms, tp_header *h, const char **body)
{
    uint32_t magic, len, hi, lo;
    uint16_t version, type;
    unsigned char mac[TP_SEAL_LEN];

    if (n < TP_OVERHEAD) {
        return TP_ERR_SHORT;
    }
    memcpy(&magic, buf, 4);
    memcpy(&version, buf + 4, 2);
    memcpy(&type, buf + 6, 2);
    memcpy(&len, buf + 8, 4);
    memcpy(&hi, buf + 12, 4);
    memcpy(&lo, buf + 16, 4);
    h->magic = ntohl(magic);
    h->version = ntohs(version);
    h->type = ntohs(type);
    h->len = ntohl(len);
    h->sent_ms = (int64_t)((uint64_t)ntohl(hi) << 32 | ntohl(lo));
    if (h->magic != TP_MAGIC) {
        return TP_ERR_MAGIC;
    }
    if (h->version != TP_VERSION) {
        return TP_ERR_VERSION;
    }
    if (h->len > TP_MAX_BODY || (size_t)h->len != n - TP_OVERHEAD) {
        return TP_ERR_LENGTH;
    }
    if (tp_mac(secret, secret_len, buf, n - TP_SEAL_LEN, mac) != 0
        || CRYPTO_memcmp(mac, buf + n - TP_SEAL_LEN, TP_SEAL_LEN) != 0) {
        return TP_ERR_SEAL;
    }
    if (h->sent_ms < now_ms - TP_SEAL_WINDOW_MS
        || h->sent_ms > now_ms + TP_SEAL_WINDOW_MS) {
        return TP_ERR_STALE;
    }
    *body = (const char *)buf + TP_HEADER_LEN;
    return TP_OK;
}

/* The seal of an upgrade as hex into hex[TP_SEAL_HEX_LEN + 1],
 * over values[TP_UF_COUNT] (NULL: absent).  Each value is written with its
 * length, so no two different sets of values read the same.  scratch
 * holds the canonical text: 0, or -1 when it is too small or OpenSSL
 * fails. */
static inline int tp_seal_upgrade(const unsigned char *secret,
                                  size_t secret_len,
                                  const char *const values[TP_UF_COUNT],
                                  char *scratch, size_t cap,
                                  char hex[TP_SEAL_HEX_LEN + 1])
{
    unsigned char mac[TP_SEAL_LEN];
    size_t used = 0;
    int i, n;

    n = snprintf(scratch, cap, "timing-upgrade/%d\n", TP_VERSION);
    if (n < 0 || (size_t)n >= cap) {
        return -1;
    }
    used = (size_t)n;
    for (i = 0; i < TP_UF_COUNT; i++) {
        n = values[i] ? snprintf(scratch + used, cap - used, "%zu:%s\n",
                                 strlen(values[i]), values[i])
                      : snprintf(scratch + used, cap - used, "-\n");
        if (n < 0 || (size_t)n >= cap - used) {
            return -1;
        }
        used += (size_t)n;
    }
    return tp_mac(secret, secret_len, scratch, used, mac) == 0
           && OPENSSL_buf2hexstr_ex(hex, TP_SEAL_HEX_LEN + 1, NULL, mac,
                                    TP_SEAL_LEN, '\0') == 1 ? 0 : -1;
}

/* Writes a hand-off's body -- id, newline, head, extra -- into
 * out[cap]: its length, or 0 when it does not fit or id is not
 * TP_HANDOFF_ID_LEN lowercase hex digits. */
static inline size_t tp_handoff_encode(char *out, size_t cap, const char *id,
                                       const char *head, size_t head_len,
                                       const char *extra, size_t extra_len)
{
    size_t i, n = TP_HANDOFF_ID_LEN + 1 + head_len + extra_len;

    if (strnlen(id, TP_HANDOFF_ID_LEN + 1) != TP_HANDOFF_ID_LEN || n > cap
        || n > TP_MAX_BODY || extra_len > TP_HANDOFF_MAX_EXTRA) {
        return 0;
    }
    for (i = 0; i < TP_HANDOFF_ID_LEN; i++) {
        char c = id[i];

        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return 0;
        }
    }
    memcpy(out, id, TP_HANDOFF_ID_LEN);
    out[TP_HANDOFF_ID_LEN] = '\n';
    memcpy(out + TP_HANDOFF_ID_LEN + 1, head, head_len);
    if (extra_len) {
        memcpy(out + TP_HANDOFF_ID_LEN + 1 + head_len, extra, extra_len);
    }
    return n;
}

/* Splits a hand-off's body of len bytes: id[TP_HANDOFF_ID_LEN + 1] gets
 * the id, *bytes and *nbytes the head and what follows it (inside body).
 * 0, or -1 when the body is not a hand-off's. */
static inline int tp_handoff_decode(const char *body, size_t len,
                                    char id[TP_HANDOFF_ID_LEN + 1],
                                    const char **bytes, size_t *nbytes)
{
    size_t i;

    if (len <= TP_HANDOFF_ID_LEN + 1 || body[TP_HANDOFF_ID_LEN] != '\n') {
        return -1;
    }
    for (i = 0; i < TP_HANDOFF_ID_LEN; i++) {
        char c = body[i];

        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return -1;
        }
        id[i] = c;
    }
    id[TP_HANDOFF_ID_LEN] = '\0';
    *bytes = body + TP_HANDOFF_ID_LEN + 1;
    *nbytes = len - TP_HANDOFF_ID_LEN - 1;
    return 0;
}

#endif /* TIMING_PROTO_H */
