/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mod_timing.h -- what the parts of mod_timing share: the configuration
 * records, the request context a route handler gets, and the route table's
 * types.  Each tm_*.c file declares its own functions in its own header.
 */
#ifndef MOD_TIMING_H
#define MOD_TIMING_H

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "apr_tables.h"

#define TMLOGNO(n) "TM" #n ": "

extern module AP_MODULE_DECLARE_DATA timing_module;

/* Server configuration: one per virtual host, merged over the main one.
 * The *_set flags keep "unset" apart from a value equal to the default;
 * whole bytes, not bit-fields, so a directive's tm_param can name one by
 * its offset (tm_config.h). */
typedef struct tm_srv_conf {
    const char *jwt_secret;         /* bytes, from the directive or file */
    apr_size_t jwt_secret_len;
    const char *jwt_prev_secret;    /* still verifies; NULL: none */
    apr_size_t jwt_prev_secret_len;
    const char *jwt_issuer;
    apr_interval_time_t token_lifetime;
    const char *event_socket;
    apr_off_t body_limit;
    int order_rate_limit;           /* creations a minute per address */
    int register_rate_limit;        /* registrations an hour per address */
    int login_rate_limit;           /* good logins a minute per address */
    apr_interval_time_t event_horizon;
    apr_array_header_t *cors_origins;   /* of const char *; "*" wildcards */
    int max_sockets;                /* live WebSockets at most */
    int tunnel_sockets;             /* of them tunnelled, each holding a
                                     * worker (-1: unset) */
    /* Admission by timing-eventd (-1: unset, then the defaults below). */
    int staff_sockets;              /* of max_sockets, kept for staff */
    int order_sockets;              /* per order; 0: no cap */
    int address_sockets;            /* per client address; 0: no cap */
    const unsigned char *eventd_secret; /* seals what goes to the daemon */
    apr_size_t eventd_secret_len;
    apr_interval_time_t socket_lifetime;/* then reconnect; 0: no limit */
    /* Retention, in seconds; timing-maintain prunes and anonymises, the
     * module only honours the idempotency window. */
    apr_int64_t event_retention;
    apr_int64_t idem_retention;
    apr_int64_t personal_retention; /* 0: personal data kept */
    int ws_handoff;                 /* TimingWebSocketHandoff: tm_handoff */
    unsigned char jwt_secret_set;
    unsigned char jwt_prev_secret_set;
    unsigned char jwt_issuer_set;
    unsigned char token_lifetime_set;
    unsigned char event_socket_set;
    unsigned char body_limit_set;
    unsigned char order_rate_limit_set;
    unsigned char register_rate_limit_set;
    unsigned char login_rate_limit_set;
    unsigned char event_horizon_set;
    unsigned char cors_origins_set;
    unsigned char max_sockets_set;
    unsigned char eventd_secret_set;
    unsigned char socket_lifetime_set;
    unsigned char event_retention_set;
    unsigned char idem_retention_set;
    unsigned char personal_retention_set;
    unsigned char ws_handoff_set;
} tm_srv_conf;

/* TimingWebSocketHandoff: hand accepted plaintext upgrades' sockets to
 * timing-eventd (auto), or tunnel them all (off). */
typedef enum {
    TM_HANDOFF_OFF = 0,
    TM_HANDOFF_AUTO = 1
} tm_handoff_mode;

#define TM_DEFAULT_ISSUER          "timing"
#define TM_DEFAULT_TOKEN_LIFETIME  apr_time_from_sec(12 * 3600)
#define TM_DEFAULT_BODY_LIMIT      (64 * 1024)
#define TM_MIN_SECRET_LEN          32
#define TM_DEFAULT_ORDER_RATE      30
/* A customer follows an order from a phone, perhaps a second device and a
 * few tabs; more than that on one order is a client gone wrong, or one
 * trying to take every socket with a single tracking token. */
#define TM_DEFAULT_ORDER_SOCKETS   5
/* TimingMaxSockets when sockets are handed off: the daemon's capacity
 * (about 10 KiB and one descriptor each), not Apache's workers. */
#define TM_DEFAULT_HANDOFF_SOCKETS 10000
/* Each registration and each login costs a bcrypt (about 60 ms of a
 * core), so one address may not ask for them without end.  An address is
 * often a whole shop's Wi-Fi or a mobile carrier's NAT, so the limits are
 * far above what people do: 20 new accounts an hour (a queue signing up
 * together at a rush; at most 1.2 s of CPU an hour) and 30 good logins a
 * minute (a shift of staff and the customers at the counter; at most
 * 1.8 s of CPU a minute, 3% of a core).  Failed logins have their own,
 * lower limits (tm_auth.c). */
#define TM_DEFAULT_REGISTER_RATE   20
#define TM_REGISTER_RATE_WINDOW    3600
#define TM_DEFAULT_LOGIN_RATE      30
#define TM_LOGIN_RATE_WINDOW       60
#define TM_DEFAULT_EVENT_HORIZON   apr_time_from_sec(2)
/* Long enough that a shift reconnects only a few times, short enough that
 * no socket keeps an old Apache process for days. */
#define TM_DEFAULT_SOCKET_LIFETIME apr_time_from_sec(3 * 3600)
/* Retention (timing-maintain reads the same directives): a month of
 * events for clients to catch up from; a day of idempotency keys (a
 * client retries within hours, not days); customers' details of
 * finished orders for 90 days. */
#define TM_DAY                     ((apr_int64_t)86400)
#define TM_DEFAULT_EVENT_RETENTION (30 * TM_DAY)
#define TM_DEFAULT_IDEM_RETENTION  TM_DAY
#define TM_DEFAULT_PERSONAL_RETENTION (90 * TM_DAY)

/* Which WebSocket channel a <Location> guards (TimingWebSocket). */
typedef enum {
    TM_WS_UNSET = 0,
    TM_WS_NONE,
    TM_WS_ADMIN,
    TM_WS_ORDER
} tm_ws_channel;

typedef struct tm_dir_conf {
    tm_ws_channel ws_channel;
} tm_dir_conf;

/* The identity a valid credential carries. */
typedef struct tm_identity {
    const char *user_id;            /* JWT sub */
    const char *role;               /* admin | staff | customer */
    const char *name;
    apr_time_t expires;
    unsigned long token_version;    /* JWT tv; 0 in a token without it */
} tm_identity;

/* What a route handler gets besides the request. */
typedef struct tm_ctx {
    request_rec *r;
    const tm_srv_conf *conf;
    apr_table_t *query;             /* decoded query string */
    const tm_identity *who;         /* NULL without a credential */
    const char *params[2];          /* :id captures of the route */
    const char *body;               /* request body, NUL-terminated */
    apr_size_t body_len;
} tm_ctx;

/* A route handler writes its answer (success or envelope) and returns OK. */
typedef int (*tm_route_fn)(tm_ctx *c);

#endif /* MOD_TIMING_H */
