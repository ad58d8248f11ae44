/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tm_config.h -- the directives' setters: by kind (a count, a duration, a
 * retention period, a secret or its file), where cmd->info says which
 * field and what values, and the few with checks of their own (the event
 * socket, CORS origins, the issuer, TimingWebSocket);
 * then what is checked and defaulted once the whole configuration is read.
 * The command table itself is mod_timing.c's.
 */
#ifndef TM_CONFIG_H
#define TM_CONFIG_H

#include "mod_timing.h"

/* What a directive of one kind sets, and the values it takes. */
typedef struct tm_param {
    apr_size_t field;           /* the value's offset in tm_srv_conf */
    apr_size_t size;            /* sizeof the value: an int or 64 bits */
    apr_size_t set_flag;        /* its *_set flag's offset, or TM_NO_FLAG */
    apr_int64_t min, max;       /* in the field's unit */
    int zero_ok;                /* 0 ("no limit", "keep") though below min */
    int digits;                 /* counts: no sign, no space before */
    const char *unit;           /* durations: a bare number's unit */
    const char *const *words;   /* choices: the words, NULL-terminated;
                                 * the value is a word's index */
    const char *error;          /* the message for any bad value */
} tm_param;

/* The socket shares have no flag: -1 is unset, so they merge by value. */
#define TM_NO_FLAG ((apr_size_t)-1)

#define TM_PARAM_FIELD(f) \
    .field = APR_OFFSETOF(tm_srv_conf, f), \
    .size = sizeof(((tm_srv_conf *)0)->f)
#define TM_PARAM(f) \
    TM_PARAM_FIELD(f), .set_flag = APR_OFFSETOF(tm_srv_conf, f##_set)

/* A decimal number (TimingBodyLimit, the rate limits, the sockets). */
const char *tm_set_count(cmd_parms *cmd, void *dummy, const char *arg);
/* Apache's timeout syntax: a number in the spec's unit, or with ms, s,
 * mi(n) or h. */
const char *tm_set_duration(cmd_parms *cmd, void *dummy, const char *arg);
/* A number of days, or with s, min, h or d; stored in seconds. */
const char *tm_set_retention(cmd_parms *cmd, void *dummy, const char *arg);
/* One of the spec's words (any case); stored as its index. */
const char *tm_set_choice(cmd_parms *cmd, void *dummy, const char *arg);

/* Which secret a directive sets, and what it must be. */
typedef struct tm_secret {
    apr_size_t bytes, len, set_flag;    /* offsets in tm_srv_conf */
    const char *what;                   /* its name in messages */
    apr_size_t min_len;
    const char *again;                  /* refused when set twice; NULL:
                                         * the last one counts */
} tm_secret;

#define TM_SECRET(f) \
    .bytes = APR_OFFSETOF(tm_srv_conf, f), \
    .len = APR_OFFSETOF(tm_srv_conf, f##_len), \
    .set_flag = APR_OFFSETOF(tm_srv_conf, f##_set)

/* The secret itself, or a file holding it (read at start-up, while
 * Apache still runs as root, so the file can be root's alone). */
const char *tm_set_secret(cmd_parms *cmd, void *dummy, const char *arg);
const char *tm_set_secret_file(cmd_parms *cmd, void *dummy, const char *arg);
const char *tm_set_issuer(cmd_parms *cmd, void *dummy, const char *arg);
const char *tm_set_event_socket(cmd_parms *cmd, void *dummy,
                                const char *arg);
const char *tm_add_cors_origin(cmd_parms *cmd, void *dummy,
                               const char *arg);
const char *tm_set_websocket(cmd_parms *cmd, void *dirv, const char *arg);

/* post_config: every server has both secrets (logged when not; returns
 * OK or HTTP_INTERNAL_SERVER_ERROR). */
int tm_config_check_secrets(server_rec *s);

/* post_config: TimingMaxSockets and the shares left unset get their
 * defaults from the MPM's size. */
void tm_config_default_sockets(server_rec *s);

/* check_config: warns when H2WebSockets is on anywhere (WebSockets over
 * HTTP/2 are not supported); always OK. */
int tm_config_check_h2_websockets(apr_pool_t *pconf, apr_pool_t *plog,
                                  apr_pool_t *ptemp, server_rec *s);

#endif /* TM_CONFIG_H */
