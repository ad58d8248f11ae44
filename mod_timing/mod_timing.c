/*
 * mod_timing.c -- Timing's REST API inside Apache httpd.
 *
 * This file holds the configuration (directives, merge, checks at start),
 * the hooks and the route table.  The endpoints live in tm_*.c.
 *
 *   LoadModule dbd_module     modules/mod_dbd.so
 *   LoadModule timing_module  modules/mod_timing.so
 *   DBDriver mysql
 *   DBDParams "sock=/run/mysqld/mysqld.sock,user=timing,pass=...,dbname=timing,reconnect=0"
 *   TimingJWTSecretFile /etc/timing/jwt.secret
 *   TimingEventSocket   /run/timing/events.sock
 *   TimingEventdSecretFile /etc/timing/eventd.secret
 *   <Location "/api/">
 *       SetHandler timing-api
 *   </Location>
 *   <Location "/admin">
 *       TimingWebSocket admin
 *   </Location>
 */
#include "mod_timing.h"
#include "tm_api_errors.h"
#include "tm_auth.h"
#include "tm_db.h"
#include "tm_events.h"
#include "tm_health.h"
#include "tm_menu.h"
#include "tm_metrics.h"
#include "tm_notify.h"
#include "tm_admin_orders.h"
#include "tm_customer_orders.h"
#include "tm_orders.h"
#include "tm_router.h"
#include "tm_summary.h"
#include "tm_upgrade.h"
#include "tm_users.h"
#include "timing_proto.h"

#include "apr_file_io.h"
#include "apr_lib.h"
#include "apr_strings.h"
#include "http_core.h"
#include "http_protocol.h"
#include "http_request.h"
#include "ap_mpm.h"

#include <stdlib.h>
#include <sys/un.h>


/* ---------------------------------------------------------------------- */
/* Configuration                                                          */

static void *create_srv_conf(apr_pool_t *p, server_rec *s)
{
    tm_srv_conf *conf = apr_pcalloc(p, sizeof *conf);

    (void)s;
    conf->jwt_issuer = TM_DEFAULT_ISSUER;
    conf->token_lifetime = TM_DEFAULT_TOKEN_LIFETIME;
    conf->event_socket = TP_DEFAULT_EVENT_SOCKET;
    conf->body_limit = TM_DEFAULT_BODY_LIMIT;
    conf->order_rate_limit = TM_DEFAULT_ORDER_RATE;
    conf->register_rate_limit = TM_DEFAULT_REGISTER_RATE;
    conf->login_rate_limit = TM_DEFAULT_LOGIN_RATE;
    conf->event_horizon = TM_DEFAULT_EVENT_HORIZON;
    conf->socket_lifetime = TM_DEFAULT_SOCKET_LIFETIME;
    conf->event_retention = TM_DEFAULT_EVENT_RETENTION;
    conf->idem_retention = TM_DEFAULT_IDEM_RETENTION;
    conf->personal_retention = TM_DEFAULT_PERSONAL_RETENTION;
    conf->cors_origins = apr_array_make(p, 2, sizeof(const char *));
    conf->staff_sockets = -1;
    conf->order_sockets = -1;
    conf->address_sockets = -1;
    return conf;
}

static void *merge_srv_conf(apr_pool_t *p, void *basev, void *addv)
{
    tm_srv_conf *base = basev, *add = addv;
    tm_srv_conf *conf = apr_pcalloc(p, sizeof *conf);

#define TM_MERGE(field) \
    do { \
        conf->field##_set = add->field##_set || base->field##_set; \
        conf->field = add->field##_set ? add->field : base->field; \
    } while (0)
    TM_MERGE(jwt_issuer);
    TM_MERGE(token_lifetime);
    TM_MERGE(event_socket);
    TM_MERGE(body_limit);
    TM_MERGE(jwt_secret);
    TM_MERGE(order_rate_limit);
    TM_MERGE(register_rate_limit);
    TM_MERGE(login_rate_limit);
    TM_MERGE(event_horizon);
    TM_MERGE(cors_origins);
    TM_MERGE(max_sockets);
    TM_MERGE(socket_lifetime);
    TM_MERGE(event_retention);
    TM_MERGE(idem_retention);
    TM_MERGE(personal_retention);
    TM_MERGE(eventd_secret);
#undef TM_MERGE
#define TM_MERGE_COUNT(field) \
    do { \
        conf->field = add->field != -1 ? add->field : base->field; \
    } while (0)
    TM_MERGE_COUNT(staff_sockets);
    TM_MERGE_COUNT(order_sockets);
    TM_MERGE_COUNT(address_sockets);
#undef TM_MERGE_COUNT
    conf->eventd_secret_len = add->eventd_secret_set
                              ? add->eventd_secret_len
                              : base->eventd_secret_len;
    conf->jwt_secret_len = add->jwt_secret_set ? add->jwt_secret_len
                                               : base->jwt_secret_len;
    conf->jwt_prev_secret_set = add->jwt_prev_secret_set
                                || base->jwt_prev_secret_set;
    conf->jwt_prev_secret = add->jwt_prev_secret_set ? add->jwt_prev_secret
                                                     : base->jwt_prev_secret;
    conf->jwt_prev_secret_len = add->jwt_prev_secret_set
                                ? add->jwt_prev_secret_len
                                : base->jwt_prev_secret_len;
    return conf;
}

static void *create_dir_conf(apr_pool_t *p, char *dir)
{
    (void)dir;
    return apr_pcalloc(p, sizeof(tm_dir_conf));
}

static void *merge_dir_conf(apr_pool_t *p, void *basev, void *addv)
{
    tm_dir_conf *base = basev, *add = addv;
    tm_dir_conf *conf = apr_pcalloc(p, sizeof *conf);

    conf->ws_channel = add->ws_channel != TM_WS_UNSET ? add->ws_channel
                                                      : base->ws_channel;
    return conf;
}

static tm_srv_conf *srv_conf(cmd_parms *cmd)
{
    return ap_get_module_config(cmd->server->module_config, &timing_module);
}

static const char *set_secret_bytes(cmd_parms *cmd, const char *bytes,
                                    apr_size_t len, const char *where)
{
    tm_srv_conf *conf = srv_conf(cmd);

    if (len < TM_MIN_SECRET_LEN) {
        return apr_psprintf(cmd->pool, "%s: the JWT secret must be at least "
                            "%d bytes (it is %" APR_SIZE_T_FMT ")", where,
                            TM_MIN_SECRET_LEN, len);
    }
    if (conf->jwt_secret_set) {
        return apr_psprintf(cmd->pool, "%s: a JWT secret is already set for "
                            "this server", where);
    }
    conf->jwt_secret = bytes;
    conf->jwt_secret_len = len;
    conf->jwt_secret_set = 1;
    return NULL;
}

static const char *set_jwt_secret(cmd_parms *cmd, void *dummy,
                                  const char *arg)
{
    (void)dummy;
    return set_secret_bytes(cmd, apr_pstrdup(cmd->pool, arg), strlen(arg),
                            cmd->cmd->name);
}

/* Read at start-up, while Apache still runs as root, so the file can be
 * readable by root alone; what names the secret in the message when it is
 * shorter than min_len bytes. */
static const char *read_secret_file(cmd_parms *cmd, const char *arg,
                                    const char *what, apr_size_t min_len,
                                    char **secret, apr_size_t *secret_len);

static const char *set_jwt_secret_file(cmd_parms *cmd, void *dummy,
                                       const char *arg)
{
    char *buf = NULL;
    apr_size_t len = 0;
    const char *err = read_secret_file(cmd, arg, "JWT secret",
                                       TM_MIN_SECRET_LEN, &buf, &len);

    (void)dummy;
    return err ? err : set_secret_bytes(cmd, buf, len, cmd->cmd->name);
}

/* The key before the last rotation: it verifies tokens it signed until
 * they have expired (TimingTokenLifetime), then the line can go. */
static const char *set_jwt_prev_secret_file(cmd_parms *cmd, void *dummy,
                                            const char *arg)
{
    tm_srv_conf *conf = srv_conf(cmd);
    char *buf = NULL;
    apr_size_t len = 0;
    const char *err = read_secret_file(cmd, arg, "JWT secret",
                                       TM_MIN_SECRET_LEN, &buf, &len);

    (void)dummy;
    if (err) {
        return err;
    }
    if (conf->jwt_prev_secret_set) {
        return apr_psprintf(cmd->pool, "%s: a previous JWT secret is already "
                            "set for this server", cmd->cmd->name);
    }
    conf->jwt_prev_secret = buf;
    conf->jwt_prev_secret_len = len;
    conf->jwt_prev_secret_set = 1;
    return NULL;
}

static const char *read_secret_file(cmd_parms *cmd, const char *arg,
                                    const char *what, apr_size_t min_len,
                                    char **secret, apr_size_t *secret_len)
{
    const char *path = ap_server_root_relative(cmd->pool, arg);
    apr_file_t *f;
    apr_finfo_t fi;
    apr_size_t len;
    apr_status_t rv;
    char *buf, errbuf[128];

    if (!path) {
        return apr_psprintf(cmd->pool, "%s: invalid path '%s'",
                            cmd->cmd->name, arg);
    }
    rv = apr_file_open(&f, path, APR_FOPEN_READ, 0, cmd->temp_pool);
    if (rv == APR_SUCCESS) {
        rv = apr_file_info_get(&fi, APR_FINFO_SIZE, f);
    }
    if (rv != APR_SUCCESS) {
        return apr_psprintf(cmd->pool, "%s: cannot read %s: %s",
                            cmd->cmd->name, path,
                            apr_strerror(rv, errbuf, sizeof errbuf));
    }
    if (fi.size > 4096) {
        return apr_psprintf(cmd->pool, "%s: %s is larger than 4096 bytes; "
                            "is it the right file?", cmd->cmd->name, path);
    }
    len = (apr_size_t)fi.size;
    buf = apr_palloc(cmd->pool, len + 1);
    rv = apr_file_read_full(f, buf, len, &len);
    apr_file_close(f);
    if (rv != APR_SUCCESS && rv != APR_EOF) {
        return apr_psprintf(cmd->pool, "%s: cannot read %s: %s",
                            cmd->cmd->name, path,
                            apr_strerror(rv, errbuf, sizeof errbuf));
    }
    /* An editor's trailing newline is not part of the secret. */
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r')) {
        len--;
    }
    buf[len] = '\0';
    if (len < min_len) {
        return apr_psprintf(cmd->pool, "%s: the %s must be at least %"
                            APR_SIZE_T_FMT " bytes (it is %" APR_SIZE_T_FMT
                            ")", cmd->cmd->name, what, min_len, len);
    }
    *secret = buf;
    *secret_len = len;
    return NULL;
}

static const char *set_issuer(cmd_parms *cmd, void *dummy, const char *arg)
{
    tm_srv_conf *conf = srv_conf(cmd);

    (void)dummy;
    if (!*arg || strlen(arg) > 200) {
        return "TimingJWTIssuer must be 1 to 200 characters";
    }
    conf->jwt_issuer = arg;
    conf->jwt_issuer_set = 1;
    return NULL;
}

static const char *set_token_lifetime(cmd_parms *cmd, void *dummy,
                                      const char *arg)
{
    tm_srv_conf *conf = srv_conf(cmd);
    apr_interval_time_t t;

    (void)dummy;
    if (ap_timeout_parameter_parse(arg, &t, "s") != APR_SUCCESS
        || t < apr_time_from_sec(60) || t > apr_time_from_sec(30 * 86400)) {
        return "TimingTokenLifetime must be between 60 seconds and 30 days "
               "(e.g. 43200, 720m or 12h... in seconds or with ms/s/mi/h)";
    }
    conf->token_lifetime = t;
    conf->token_lifetime_set = 1;
    return NULL;
}

static const char *set_event_socket(cmd_parms *cmd, void *dummy,
                                    const char *arg)
{
    tm_srv_conf *conf = srv_conf(cmd);
    struct sockaddr_un sun;
    apr_finfo_t finfo;
    const char *dir;

    (void)dummy;
    if (arg[0] != '/') {
        return "TimingEventSocket must be an absolute path";
    }
    if (strlen(arg) >= sizeof sun.sun_path) {
        return apr_psprintf(cmd->pool, "TimingEventSocket: '%s' is longer "
                            "than a unix socket path may be (%d bytes)",
                            arg, (int)sizeof sun.sun_path - 1);
    }
    /* The daemon makes the socket; its directory must already be there
     * (systemd's RuntimeDirectory, tmpfiles), or every event would be
     * lost without a word until someone read the error log. */
    dir = apr_pstrndup(cmd->temp_pool, arg, strrchr(arg, '/') - arg);
    if (*dir && (apr_stat(&finfo, dir, APR_FINFO_TYPE, cmd->temp_pool)
                 != APR_SUCCESS || finfo.filetype != APR_DIR)) {
        return apr_psprintf(cmd->pool, "TimingEventSocket: the directory "
                            "'%s' does not exist (timing-eventd's run "
                            "directory)", dir);
    }
    conf->event_socket = arg;
    conf->event_socket_set = 1;
    return NULL;
}

static const char *set_body_limit(cmd_parms *cmd, void *dummy,
                                  const char *arg)
{
    tm_srv_conf *conf = srv_conf(cmd);
    apr_off_t limit;

    (void)dummy;
    if (!ap_parse_strict_length(&limit, arg) || limit < 1024
        || limit > 16 * 1024 * 1024) {
        return "TimingBodyLimit must be a number of bytes from 1024 to "
               "16777216";
    }
    conf->body_limit = limit;
    conf->body_limit_set = 1;
    return NULL;
}

static const char *set_order_rate_limit(cmd_parms *cmd, void *dummy,
                                        const char *arg)
{
    tm_srv_conf *conf = srv_conf(cmd);
    char *end;
    long n = strtol(arg, &end, 10);

    (void)dummy;
    if (!*arg || *end || n < 0 || n > 1000000) {
        return "TimingOrderRateLimit must be a number of orders a minute "
               "per client address, 0 (no limit) to 1000000";
    }
    conf->order_rate_limit = (int)n;
    conf->order_rate_limit_set = 1;
    return NULL;
}

/* TimingRegisterRateLimit and TimingLoginRateLimit: cmd->info names the
 * period the number is counted over. */
static const char *set_auth_rate_limit(cmd_parms *cmd, void *dummy,
                                       const char *arg)
{
    tm_srv_conf *conf = srv_conf(cmd);
    int is_login = !strcasecmp(cmd->cmd->name, "TimingLoginRateLimit");
    char *end;
    long n = strtol(arg, &end, 10);

    (void)dummy;
    if (!apr_isdigit(*arg) || *end || n > 1000000) {
        return apr_psprintf(cmd->pool, "%s must be a number of %s %s per "
                            "client address, 0 (no limit) to 1000000",
                            cmd->cmd->name, is_login ? "logins" :
                            "registrations", (const char *)cmd->info);
    }
    if (is_login) {
        conf->login_rate_limit = (int)n;
        conf->login_rate_limit_set = 1;
    }
    else {
        conf->register_rate_limit = (int)n;
        conf->register_rate_limit_set = 1;
    }
    return NULL;
}

static const char *set_event_horizon(cmd_parms *cmd, void *dummy,
                                     const char *arg)
{
    tm_srv_conf *conf = srv_conf(cmd);
    apr_interval_time_t t;

    (void)dummy;
    if (ap_timeout_parameter_parse(arg, &t, "ms") != APR_SUCCESS
        || t < apr_time_from_msec(100) || t > apr_time_from_sec(60)) {
        return "TimingEventHorizon must be from 100ms to 60s (a number is "
               "milliseconds; or 2s)";
    }
    conf->event_horizon = t;
    conf->event_horizon_set = 1;
    return NULL;
}

static const char *set_socket_lifetime(cmd_parms *cmd, void *dummy,
                                       const char *arg)
{
    tm_srv_conf *conf = srv_conf(cmd);
    apr_interval_time_t t;

    (void)dummy;
    if (ap_timeout_parameter_parse(arg, &t, "s") != APR_SUCCESS
        || (t != 0 && t < apr_time_from_sec(1))
        || t > apr_time_from_sec(7 * 24 * 3600)) {
        return "TimingSocketLifetime must be 0 (no limit) or from 1s to 7 "
               "days (a number is seconds; or 90min, 3h)";
    }
    conf->socket_lifetime = t;
    conf->socket_lifetime_set = 1;
    return NULL;
}

/* A retention period: a number of days, or a number with s, min, h or d
 * (timing-maintain parses the same forms).  -1 when it does not parse. */
static apr_int64_t parse_retention(const char *arg)
{
    static const struct { const char *unit; apr_int64_t sec; } units[] = {
        { "", TM_DAY }, { "d", TM_DAY }, { "h", 3600 }, { "min", 60 },
        { "s", 1 }
    };
    char *end;
    apr_int64_t n;
    size_t i;

    if (!apr_isdigit(*arg)) {
        return -1;
    }
    n = apr_strtoi64(arg, &end, 10);
    for (i = 0; i < sizeof units / sizeof *units; i++) {
        if (!strcmp(end, units[i].unit)) {
            return n > 100 * 365 * TM_DAY ? -1 : n * units[i].sec;
        }
    }
    return -1;
}

static const char *set_retention(cmd_parms *cmd, void *dummy,
                                 const char *arg)
{
    tm_srv_conf *conf = srv_conf(cmd);
    apr_int64_t t = parse_retention(arg);
    const char *name = cmd->cmd->name;

    (void)dummy;
    if (!strcasecmp(name, "TimingEventRetention")) {
        if (t < TM_DAY) {
            return "TimingEventRetention must be at least 1 day (a number "
                   "of days, or with s, min, h or d: 30d, 720h)";
        }
        conf->event_retention = t;
        conf->event_retention_set = 1;
    }
    else if (!strcasecmp(name, "TimingIdempotencyRetention")) {
        if (t < TM_DAY) {
            return "TimingIdempotencyRetention must be at least 24h (the "
                   "API promises a day; a number of days, or with s, min, "
                   "h or d)";
        }
        conf->idem_retention = t;
        conf->idem_retention_set = 1;
    }
    else {
        if (t < 0 || (t > 0 && t < TM_DAY)) {
            return "TimingPersonalDataRetention must be 0 (keep) or at "
                   "least 1 day (a number of days, or with s, min, h or d: "
                   "90d)";
        }
        conf->personal_retention = t;
        conf->personal_retention_set = 1;
    }
    return NULL;
}

/* An origin as browsers send it: scheme://host[:port], where the port
 * may be "*" (any port: development's http://localhost:*). */
static const char *add_cors_origin(cmd_parms *cmd, void *dummy,
                                   const char *arg)
{
    tm_srv_conf *conf = srv_conf(cmd);
    const char *host;

    (void)dummy;
    if (strncmp(arg, "http://", 7) && strncmp(arg, "https://", 8)) {
        return apr_psprintf(cmd->pool, "TimingCorsOrigins: '%s' is not an "
                            "origin (http://host[:port] or https://...)",
                            arg);
    }
    host = strstr(arg, "://") + 3;
    if (!*host || strchr(host, '/') || (strchr(host, '*')
                                        && strcmp(strrchr(host, ':'), ":*"))) {
        return apr_psprintf(cmd->pool, "TimingCorsOrigins: '%s' must be "
                            "scheme://host[:port] with no path; only the "
                            "port may be '*'", arg);
    }
    if (!conf->cors_origins_set) {
        conf->cors_origins = apr_array_make(cmd->pool, 2,
                                            sizeof(const char *));
        conf->cors_origins_set = 1;
    }
    *(const char **)apr_array_push(conf->cors_origins) = arg;
    return NULL;
}

static const char *set_max_sockets(cmd_parms *cmd, void *dummy,
                                   const char *arg)
{
    tm_srv_conf *conf = srv_conf(cmd);
    char *end;
    long n = strtol(arg, &end, 10);

    (void)dummy;
    if (!*arg || *end || n < 1 || n > 1000000) {
        return "TimingMaxSockets must be a number of WebSockets from 1 to "
               "1000000";
    }
    conf->max_sockets = (int)n;
    conf->max_sockets_set = 1;
    return NULL;
}

/* TimingStaffSockets, TimingOrderSockets, TimingAddressSockets: cmd->info
 * is the field's offset in tm_srv_conf. */
static const char *set_socket_count(cmd_parms *cmd, void *dummy,
                                    const char *arg)
{
    char *end;
    long n = strtol(arg, &end, 10);

    (void)dummy;
    if (!*arg || *end || n < 0 || n > 1000000) {
        return apr_psprintf(cmd->pool, "%s must be a number of WebSockets "
                            "from 0 to 1000000", cmd->cmd->name);
    }
    *(int *)((char *)srv_conf(cmd) + (apr_size_t)cmd->info) = (int)n;
    return NULL;
}

static const char *set_eventd_secret_file(cmd_parms *cmd, void *dummy,
                                          const char *arg)
{
    tm_srv_conf *conf = srv_conf(cmd);
    char *buf = NULL;
    apr_size_t len = 0;
    const char *err = read_secret_file(cmd, arg, "secret", TP_MIN_SECRET_LEN,
                                       &buf, &len);

    (void)dummy;
    if (err) {
        return err;
    }
    conf->eventd_secret = (const unsigned char *)buf;
    conf->eventd_secret_len = len;
    conf->eventd_secret_set = 1;
    return NULL;
}

static const char *set_websocket(cmd_parms *cmd, void *dirv, const char *arg)
{
    tm_dir_conf *dir = dirv;

    (void)cmd;
    if (!strcasecmp(arg, "admin")) {
        dir->ws_channel = TM_WS_ADMIN;
    }
    else if (!strcasecmp(arg, "order")) {
        dir->ws_channel = TM_WS_ORDER;
    }
    else if (!strcasecmp(arg, "off")) {
        dir->ws_channel = TM_WS_NONE;
    }
    else {
        return "TimingWebSocket must be 'admin', 'order' or 'off'";
    }
    return NULL;
}

static const command_rec timing_cmds[] = {
    AP_INIT_TAKE1("TimingJWTSecret", set_jwt_secret, NULL, RSRC_CONF,
                  "The HS256 key for tokens, at least 32 bytes "
                  "(prefer TimingJWTSecretFile)"),
    AP_INIT_TAKE1("TimingJWTSecretFile", set_jwt_secret_file, NULL, RSRC_CONF,
                  "A file holding the HS256 key, read at start-up"),
    AP_INIT_TAKE1("TimingJWTPreviousSecretFile", set_jwt_prev_secret_file,
                  NULL, RSRC_CONF, "The key before the last rotation: "
                  "verifies, never signs"),
    AP_INIT_TAKE1("TimingJWTIssuer", set_issuer, NULL, RSRC_CONF,
                  "The iss claim tokens are issued with and must carry"),
    AP_INIT_TAKE1("TimingTokenLifetime", set_token_lifetime, NULL, RSRC_CONF,
                  "How long an issued token is valid (default 12h)"),
    AP_INIT_TAKE1("TimingEventSocket", set_event_socket, NULL, RSRC_CONF,
                  "timing-eventd's event socket (unix datagram)"),
    AP_INIT_TAKE1("TimingBodyLimit", set_body_limit, NULL, RSRC_CONF,
                  "Largest request body accepted, in bytes (default 65536)"),
    AP_INIT_TAKE1("TimingOrderRateLimit", set_order_rate_limit, NULL,
                  RSRC_CONF, "Orders a minute one client address may place "
                  "(default 30; 0: no limit)"),
    AP_INIT_TAKE1("TimingRegisterRateLimit", set_auth_rate_limit,
                  "an hour", RSRC_CONF, "Accounts an hour one client "
                  "address (an IPv6 /64) may register (default 20; 0: no "
                  "limit)"),
    AP_INIT_TAKE1("TimingLoginRateLimit", set_auth_rate_limit, "a minute",
                  RSRC_CONF, "Successful logins a minute from one client "
                  "address (an IPv6 /64) (default 30; 0: no limit)"),
    AP_INIT_TAKE1("TimingEventHorizon", set_event_horizon, NULL, RSRC_CONF,
                  "How long a gap in event ids may still fill (default 2s)"),
    AP_INIT_ITERATE("TimingCorsOrigins", add_cors_origin, NULL, RSRC_CONF,
                    "Origins whose pages may call the API (CORS); the port "
                    "may be *"),
    AP_INIT_TAKE1("TimingSocketLifetime", set_socket_lifetime, NULL,
                  RSRC_CONF, "How long a WebSocket may live before it is "
                  "asked to reconnect, jittered down by up to a fifth "
                  "(default 3h; 0: no limit)"),
    AP_INIT_TAKE1("TimingMaxSockets", set_max_sockets, NULL, RSRC_CONF,
                  "Live WebSockets allowed at once, below MaxRequestWorkers "
                  "(default: 60% of it)"),
    AP_INIT_TAKE1("TimingStaffSockets", set_socket_count,
                  (void *)APR_OFFSETOF(tm_srv_conf, staff_sockets), RSRC_CONF,
                  "Of TimingMaxSockets, how many only staff may take "
                  "(default a tenth)"),
    AP_INIT_TAKE1("TimingOrderSockets", set_socket_count,
                  (void *)APR_OFFSETOF(tm_srv_conf, order_sockets), RSRC_CONF,
                  "Customer WebSockets one order may have open (default 5; "
                  "0: no cap)"),
    AP_INIT_TAKE1("TimingAddressSockets", set_socket_count,
                  (void *)APR_OFFSETOF(tm_srv_conf, address_sockets),
                  RSRC_CONF, "Customer WebSockets one client address (an "
                  "IPv6 /64) may have open (default half the customers' "
                  "share; 0: no cap)"),
    AP_INIT_TAKE1("TimingEventdSecretFile", set_eventd_secret_file, NULL,
                  RSRC_CONF, "A file holding the secret mod_timing seals "
                  "its messages to timing-eventd with, read at start-up"),
    AP_INIT_TAKE1("TimingEventRetention", set_retention, NULL, RSRC_CONF,
                  "How long timing-maintain keeps events for clients to "
                  "catch up from (default 30d)"),
    AP_INIT_TAKE1("TimingIdempotencyRetention", set_retention, NULL,
                  RSRC_CONF, "How long an Idempotency-Key answers again "
                  "(default and least 24h)"),
    AP_INIT_TAKE1("TimingPersonalDataRetention", set_retention, NULL,
                  RSRC_CONF, "After how long timing-maintain erases "
                  "customers' details of finished orders (default 90d; "
                  "0: never)"),
    AP_INIT_TAKE1("TimingWebSocket", set_websocket, NULL, ACCESS_CONF,
                  "Guard this location's WebSocket upgrade: admin, order "
                  "or off"),
    {NULL}
};

/* ---------------------------------------------------------------------- */
/* Routes                                                                 */

static const tm_route routes[] = {
    { M_GET,   "health",                TM_OPEN,  tm_health_get },
    { M_GET,   "shop",                  TM_OPEN,  tm_shop_get },
    { M_GET,   "menu",                  TM_OPEN,  tm_menu_list },
    { M_POST,  "auth/register",         TM_OPEN,  tm_users_register },
    { M_POST,  "auth/login",            TM_OPEN,  tm_auth_login },
    { M_GET,   "auth/me",               TM_TOKEN, tm_users_me },
    { M_POST,  "orders",                TM_OPEN,  tm_orders_create },
    { M_GET,   "orders",                TM_TOKEN, tm_orders_mine },
    { M_GET,   "orders/:id/status",     TM_OPEN,  tm_orders_status },
    { M_POST,  "orders/:id/cancel",     TM_OPEN,  tm_orders_cancel },
    { M_GET,   "admin/orders",          TM_STAFF, tm_admin_orders_list },
    { M_GET,   "admin/orders/:id",      TM_STAFF, tm_admin_orders_get },
    { M_PUT,   "admin/orders/:id/status", TM_STAFF, tm_admin_orders_status },
    { M_GET,   "admin/summary",         TM_STAFF, tm_summary_get },
    { M_GET,   "admin/events",          TM_STAFF, tm_events_list },
    { M_GET,   "admin/websocket/stats", TM_STAFF, tm_events_ws_stats },
    { M_GET,   "admin/metrics",         TM_STAFF, tm_metrics_get },
    { M_PUT,   "admin/shop",            TM_ADMIN, tm_shop_update },
    { M_POST,  "admin/menu",            TM_ADMIN, tm_menu_create },
    { M_PUT,   "admin/menu/:id",        TM_ADMIN, tm_menu_update },
    { M_DELETE, "admin/menu/:id",       TM_ADMIN, tm_menu_delete },
    { M_GET,   "admin/users",           TM_ADMIN, tm_users_list },
    { M_POST,  "admin/users",           TM_ADMIN, tm_users_create },
    { M_PATCH, "admin/users/:id",       TM_ADMIN, tm_users_update },
};

#define N_ROUTES (sizeof routes / sizeof *routes)

static int api_handler(request_rec *r)
{
    return tm_router_handle(r, routes, N_ROUTES);
}

/* ---------------------------------------------------------------------- */
/* Hooks                                                                  */

static int timing_fixups(request_rec *r)
{
    tm_dir_conf *dir = ap_get_module_config(r->per_dir_config, &timing_module);

    if (!dir || (dir->ws_channel != TM_WS_ADMIN
                 && dir->ws_channel != TM_WS_ORDER)) {
        return DECLINED;
    }
    return tm_upgrade_guard(r, ap_get_module_config(
                                     r->server->module_config,
                                     &timing_module), dir->ws_channel);
}

/* TRACE is refused before any <Location> applies, so Apache's own 405
 * would be HTML; on the API it goes to our handler, which refuses it with
 * the envelope (405 and Allow). */
static int timing_map_to_storage(request_rec *r)
{
    if (r->method_number == M_TRACE
        && !strncmp(r->uri, TM_API_PREFIX, sizeof TM_API_PREFIX - 1)) {
        return OK;
    }
    return DECLINED;
}

/* A tenth of the sockets is kept for staff (at least one, when there are
 * two); one address may hold half of what customers may; an order
 * TM_DEFAULT_ORDER_SOCKETS.  The staff's share never takes all. */
static void default_shares(tm_srv_conf *conf)
{
    int customers;

    if (conf->staff_sockets == -1) {
        conf->staff_sockets = conf->max_sockets / 10;
        if (conf->staff_sockets < 1 && conf->max_sockets > 1) {
            conf->staff_sockets = 1;
        }
    }
    if (conf->staff_sockets >= conf->max_sockets) {
        conf->staff_sockets = conf->max_sockets - 1;
    }
    customers = conf->max_sockets - conf->staff_sockets;
    if (conf->address_sockets == -1) {
        conf->address_sockets = customers / 2 > 0 ? customers / 2 : 1;
    }
    if (conf->order_sockets == -1) {
        conf->order_sockets = TM_DEFAULT_ORDER_SOCKETS;
    }
}

/* Every proxied WebSocket holds a worker thread for its life; when all
 * hold one, Apache answers nothing else.  Unless told otherwise, leave 40%
 * of MaxRequestWorkers to REST. */
static void default_max_sockets(server_rec *s)
{
    int daemons = 0, threads = 0;
    server_rec *sp;

    ap_mpm_query(AP_MPMQ_MAX_DAEMONS, &daemons);
    ap_mpm_query(AP_MPMQ_MAX_THREADS, &threads);
    for (sp = s; sp; sp = sp->next) {
        tm_srv_conf *conf = ap_get_module_config(sp->module_config,
                                                 &timing_module);

        if (!conf->max_sockets_set) {
            conf->max_sockets = daemons > 0 && threads > 0
                                ? daemons * threads * 6 / 10 : 100;
            if (conf->max_sockets < 1) {
                conf->max_sockets = 1;
            }
        }
        default_shares(conf);
    }
}

static int timing_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                              apr_pool_t *ptemp, server_rec *s)
{
    const char *missing = tm_db_init();
    server_rec *sp;
    apr_status_t rv;

    (void)pconf;
    (void)plog;
    (void)ptemp;
    if (missing) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, TMLOGNO(00001) "%s",
                     missing);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    for (sp = s; sp; sp = sp->next) {
        tm_srv_conf *conf = ap_get_module_config(sp->module_config,
                                                 &timing_module);

        if (!conf->jwt_secret) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, sp, TMLOGNO(00002)
                         "TimingJWTSecretFile (or TimingJWTSecret) is not "
                         "set for %s:%u", sp->server_hostname
                         ? sp->server_hostname : "(main server)",
                         (unsigned)sp->port);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        if (!conf->eventd_secret) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, sp, TMLOGNO(00004)
                         "TimingEventdSecretFile is not set for %s:%u: "
                         "timing-eventd believes only sealed messages",
                         sp->server_hostname ? sp->server_hostname
                                             : "(main server)",
                         (unsigned)sp->port);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    tm_db_register_statements(s);
    default_max_sockets(s);
    rv = tm_metrics_init(s, routes, N_ROUTES);
    if (rv != APR_SUCCESS) {
        /* The API works without figures; say why they are missing. */
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, TMLOGNO(00003)
                     "no shared memory for the metrics: "
                     "timing_http_* figures are not kept");
    }
    return OK;
}

/* A new child: the daemon is to recycle the sockets older generations
 * still tunnel (after a graceful restart).  Every child says so; the
 * daemon acts once per generation. */
static void timing_child_init(apr_pool_t *p, server_rec *s)
{
    tm_srv_conf *conf = ap_get_module_config(s->module_config,
                                             &timing_module);

    tm_notify_generation(s, p, conf, tm_upgrade_generation());
}

static void timing_register_hooks(apr_pool_t *p)
{
    /* Our statements must be registered before mod_dbd builds its pools. */
    static const char *const before_dbd[] = { "mod_dbd.c", NULL };

    (void)p;
    ap_hook_post_config(timing_post_config, NULL, before_dbd,
                        APR_HOOK_MIDDLE);
    /* The upgrade guard must see the request before mod_proxy turns it
     * into the backend URL (query string included). */
    static const char *const before_proxy[] = { "mod_proxy.c", NULL };

    ap_hook_fixups(timing_fixups, NULL, before_proxy, APR_HOOK_FIRST);
    ap_hook_child_init(timing_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_map_to_storage(timing_map_to_storage, NULL, NULL,
                           APR_HOOK_FIRST);
    ap_hook_handler(api_handler, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(tm_metrics_handler, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_log_transaction(tm_metrics_log, NULL, NULL, APR_HOOK_MIDDLE);
    tm_api_errors_register_hooks();
    APR_OPTIONAL_HOOK(dbd, post_connect, tm_db_post_connect, NULL, NULL,
                      APR_HOOK_MIDDLE);
}

AP_DECLARE_MODULE(timing) = {
    STANDARD20_MODULE_STUFF,
    create_dir_conf,            /* per-directory config */
    merge_dir_conf,             /* merge per-directory */
    create_srv_conf,            /* per-server config */
    merge_srv_conf,             /* merge per-server */
    timing_cmds,                /* directives */
    timing_register_hooks,      /* hooks */
    AP_MODULE_FLAG_NONE         /* flags */
};
