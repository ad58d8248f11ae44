/* SPDX-License-Identifier: Apache-2.0 */
/*
 * handshake.h -- the WebSocket opening handshake (RFC 6455 section 4.2),
 * as it arrives from mod_proxy_wstunnel.
 *
 * Pure: no sockets, no event loop, no logging, so the unit tests drive it
 * directly.  Feed it bytes as they arrive; once it says HS_DONE or
 * HS_ERROR, hs_response() gives the bytes to answer with -- none when the
 * request's X-Timing-Seal did not verify (status 0): only mod_timing gets
 * answers.  The request head is bounded at HS_MAX_HEAD bytes, kept inside
 * the hs_request itself.
 */
#ifndef TIMING_HANDSHAKE_H
#define TIMING_HANDSHAKE_H

#include <stddef.h>
#include <stdint.h>

#define HS_MAX_HEAD     8192    /* request line + headers + blank line */
#define HS_ACCEPT_LEN   28      /* base64 of a SHA-1 digest */
#define HS_RESPONSE_MAX 512     /* enough for any answer hs_response makes */

enum hs_result {
    HS_ERROR = -1,      /* refuse: r->status says with what */
    HS_NEED_MORE = 0,
    HS_DONE = 1         /* accept: answer 101 */
};

/* X-Timing-Limits, in its order: what admission (admit.h) applies. */
enum hs_limit {
    HS_LIMIT_SOCKETS,   /* live sockets at most */
    HS_LIMIT_STAFF,     /* of those, kept for staff */
    HS_LIMIT_ORDER,     /* per order (customers); 0: none */
    HS_LIMIT_ADDRESS,   /* per client address (customers); 0: none */
    HS_LIMIT_TUNNEL,    /* of all, tunnelled through Apache's workers */
    HS_LIMITS
};

enum hs_channel {
    HS_CHANNEL_NONE = 0,
    HS_CHANNEL_ADMIN,   /* staff: every event */
    HS_CHANNEL_ORDER    /* a customer: one order's events */
};

typedef struct hs_request {
    /* Results.  Strings point into buf and live as long as the request;
     * they are NULL when the header was absent. */
    int status;                 /* 101 on HS_DONE, 400/426 on HS_ERROR, or
                                 * 0: not sealed, answer nothing */
    int unverified;             /* refused before a seal verified: not
                                 * from mod_timing (to be counted) */
    int retry_after;            /* seconds, on an admission refusal */
    const char *reason;         /* why refused, for the log: a constant,
                                 * never a header value */
    const char *path;           /* request path, query removed (a query can
                                 * carry a token) */
    int channel;                /* enum hs_channel */
    int64_t order_id;           /* order channel: > 0 */
    int64_t last_event;         /* X-Timing-Last-Event, -1 when absent */
    const char *role;           /* X-Timing-Role */
    const char *user;           /* X-Timing-User */
    const char *epoch;          /* X-Timing-Epoch */
    int other_epoch;            /* X-Timing-Resume-Epoch: other (the
                                 * client resumes in another history) */
    int64_t generation;         /* X-Timing-Generation, 0 when absent */
    int64_t newest_event;       /* X-Timing-Newest-Event, 0 when absent */
    int64_t max_age_ms;         /* X-Timing-Max-Age, 0 when absent */
    const char *client;         /* X-Timing-Client: the client's address */
    int64_t limits[HS_LIMITS];  /* X-Timing-Limits */
    int subprotocol;            /* the client offered timing.v1 */
    char accept[HS_ACCEPT_LEN + 1];

    /* Parser state. */
    const unsigned char *secret;/* the seal's, borrowed */
    size_t secret_len;
    int64_t now_ms;             /* wall clock, for the seal's age */
    int sealed;                 /* the seal verified */
    int result;                 /* enum hs_result, sticky once decided */
    size_t len;                 /* bytes of the head held in buf */
    char buf[HS_MAX_HEAD + 1];
} hs_request;

/* secret (borrowed, it must outlive r) is what mod_timing seals the
 * trusted headers with; now_ms the wall clock in ms. */
void hs_init(hs_request *r, const unsigned char *secret, size_t secret_len,
             int64_t now_ms);

/* Takes up to n bytes.  *used says how many belonged to the request head;
 * bytes after it (a client that did not wait for the 101) are the
 * caller's to hand to the WebSocket layer.  Returns enum hs_result; once
 * HS_DONE or HS_ERROR, further calls return the same and use nothing. */
int hs_feed(hs_request *r, const char *data, size_t n, size_t *used);

/* Sec-WebSocket-Accept for a Sec-WebSocket-Key: 0, or -1 if key is absurdly
 * long.  out gets HS_ACCEPT_LEN characters and a NUL. */
int hs_accept_key(const char *key, size_t keylen,
                  char out[HS_ACCEPT_LEN + 1]);

/* Writes the answer for a decided request (101, or the refusal with
 * "Connection: close") into out; returns its length, 0 when the request
 * gets no answer (status 0), or -1 when it is undecided or outlen is too
 * small (HS_RESPONSE_MAX always suffices). */
int hs_response(const hs_request *r, char *out, size_t outlen);

/* Turns a request the parser accepted into a refusal by admission: 429
 * or 503, with Retry-After and a JSON body naming the reason (a constant
 * code such as "order_sockets"). */
void hs_refuse_admission(hs_request *r, int status, const char *code,
                         int retry_after);

#endif /* TIMING_HANDSHAKE_H */
