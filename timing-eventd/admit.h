/* SPDX-License-Identifier: Apache-2.0 */
/*
 * admit.h -- which upgrades get a socket: the whole capacity, a share
 * kept for staff, and caps per order and per client address.
 *
 * mod_timing sends the limits with every sealed upgrade (they are
 * directives in httpd.conf); the daemon decides, because it alone sees
 * every socket of every Apache process and generation, and, being
 * single-threaded, decides one upgrade at a time: two upgrades can never
 * both take the last place.  Pure counting, no sockets: unit-tested alone.
 */
#ifndef TIMING_ADMIT_H
#define TIMING_ADMIT_H

#include <stddef.h>
#include <stdint.h>

#define ADMIT_KEY_LEN 64        /* "6:", an IPv6 address and "/64" fit */

typedef struct admit admit;

/* What one admitted socket holds; release it exactly once. */
typedef struct admit_ticket {
    int held;
    int staff;
    int tunnelled;              /* counted among the tunnels */
    int64_t order_id;           /* 0: the admin channel */
    char address[ADMIT_KEY_LEN];/* the client's bucket, customers only */
} admit_ticket;

/* What an upgrade asks for, and the limits it came with (handshake.h's
 * X-Timing-Limits: sockets, kept for staff, per order, per address, the
 * tunnels' share; 0 for per order and per address means no cap). */
typedef struct admit_request {
    int staff;                  /* role staff or admin */
    int tunnelled;              /* through Apache, holding a worker */
    int64_t order_id;
    const char *client;         /* the client's address, as Apache saw it */
    int64_t sockets, staff_reserve, per_order, per_address, tunnels;
} admit_request;

enum admit_result {
    ADMIT_OK = 0,
    ADMIT_FULL,                 /* every socket taken: 503 */
    ADMIT_CUSTOMERS_FULL,       /* all but the staff's share taken: 503 */
    ADMIT_ORDER,                /* the order's cap: 429 */
    ADMIT_ADDRESS,              /* the address's cap: 429 */
    ADMIT_TUNNELS_FULL          /* every tunnel Apache may hold taken: 503 */
};

admit *admit_create(void);
void admit_destroy(admit *a);

/* Decides; on ADMIT_OK the socket is counted and t filled. */
int admit_take(admit *a, const admit_request *req, admit_ticket *t);
/* Gives the place back; harmless for a ticket not held. */
void admit_release(admit *a, admit_ticket *t);

size_t admit_count(const admit *a);             /* sockets admitted */
size_t admit_count_customers(const admit *a);
size_t admit_count_tunnelled(const admit *a);

/* The bucket a client address counts in: "4:" and the IPv4 address, "6:"
 * and the /64 of an IPv6 one (one subscriber's network), an IPv4-mapped
 * IPv6 address as IPv4; anything else as it is, cut to fit. */
void admit_address_key(const char *client, char out[ADMIT_KEY_LEN]);

/* The status a refusal is answered with, its error code and Retry-After
 * (seconds). */
int admit_status(int result);
const char *admit_code(int result);
int admit_retry_after(int result);

#endif /* TIMING_ADMIT_H */
