/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tm_config.c -- the directives' setters (by kind, and those with checks
 * of their own), reading a secret file, and what post_config checks and
 * defaults once the whole configuration is read.  mod_timing.c holds the
 * records, their merge and the command table that names these.
 */
#include "tm_config.h"

#include "apr_file_io.h"
#include "apr_lib.h"
#include "apr_strings.h"
#include "ap_mpm.h"
#include "http_core.h"

#include <string.h>
#include <sys/un.h>

APLOG_USE_MODULE(timing);

static tm_srv_conf *srv_conf(cmd_parms *cmd)
{
    return ap_get_module_config(cmd->server->module_config, &timing_module);
}

/* ---------------------------------------------------------------------- */
/* Setters by kind: cmd->info is the directive's tm_param.                */

/* One message for any bad value, the same whether it did not parse or
 * was out of bounds. */
static const char *store(cmd_parms *cmd, const tm_param *spec,
                         apr_int64_t v)
{
    char *conf = (char *)srv_conf(cmd);

    if ((v < spec->min && !(spec->zero_ok && v == 0)) || v > spec->max) {
        return spec->error;
    }
    if (spec->size == sizeof(int)) {
        int n = (int)v;

        memcpy(conf + spec->field, &n, sizeof n);
    }
    else {
        memcpy(conf + spec->field, &v, sizeof v);
    }
    if (spec->set_flag != TM_NO_FLAG) {
        conf[spec->set_flag] = 1;
    }
    return NULL;
}

const char *tm_set_count(cmd_parms *cmd, void *dummy, const char *arg)
{
    const tm_param *spec = cmd->info;
    char *end;
    apr_int64_t n;

    (void)dummy;
    if (!*arg || (spec->digits && !apr_isdigit(*arg))) {
        return spec->error;
    }
    n = apr_strtoi64(arg, &end, 10);
    return *end ? spec->error : store(cmd, spec, n);
}

const char *tm_set_duration(cmd_parms *cmd, void *dummy, const char *arg)
{
    const tm_param *spec = cmd->info;
    apr_interval_time_t t;

    (void)dummy;
    if (ap_timeout_parameter_parse(arg, &t, spec->unit) != APR_SUCCESS) {
        return spec->error;
    }
    return store(cmd, spec, t);
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

const char *tm_set_retention(cmd_parms *cmd, void *dummy, const char *arg)
{
    (void)dummy;
    return store(cmd, cmd->info, parse_retention(arg));
}

const char *tm_set_choice(cmd_parms *cmd, void *dummy, const char *arg)
{
    const tm_param *spec = cmd->info;
    apr_int64_t i;

    (void)dummy;
    for (i = 0; spec->words[i]; i++) {
        if (!strcasecmp(arg, spec->words[i])) {
            return store(cmd, spec, i);
        }
    }
    return spec->error;
}

/* ---------------------------------------------------------------------- */
/* Secrets                                                                */

/* Read at start-up, while Apache still runs as root, so the file can be
 * readable by root alone. */
static const char *read_secret_file(cmd_parms *cmd, const char *arg,
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
    *secret = buf;
    *secret_len = len;
    return NULL;
}

/* cmd->info is the directive's tm_secret. */
static const char *keep_secret(cmd_parms *cmd, const char *bytes,
                               apr_size_t len)
{
    const tm_secret *spec = cmd->info;
    char *conf = (char *)srv_conf(cmd);

    if (len < spec->min_len) {
        return apr_psprintf(cmd->pool, "%s: the %s must be at least %"
                            APR_SIZE_T_FMT " bytes (it is %" APR_SIZE_T_FMT
                            ")", cmd->cmd->name, spec->what, spec->min_len,
                            len);
    }
    if (spec->again && conf[spec->set_flag]) {
        return apr_psprintf(cmd->pool, "%s: %s", cmd->cmd->name,
                            spec->again);
    }
    memcpy(conf + spec->bytes, &bytes, sizeof bytes);
    memcpy(conf + spec->len, &len, sizeof len);
    conf[spec->set_flag] = 1;
    return NULL;
}

const char *tm_set_secret(cmd_parms *cmd, void *dummy, const char *arg)
{
    (void)dummy;
    return keep_secret(cmd, apr_pstrdup(cmd->pool, arg), strlen(arg));
}

const char *tm_set_secret_file(cmd_parms *cmd, void *dummy, const char *arg)
{
    char *buf = NULL;
    apr_size_t len = 0;
    const char *err = read_secret_file(cmd, arg, &buf, &len);

    (void)dummy;
    return err ? err : keep_secret(cmd, buf, len);
}

/* ---------------------------------------------------------------------- */
/* Directives with checks of their own                                    */

const char *tm_set_issuer(cmd_parms *cmd, void *dummy, const char *arg)
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

const char *tm_set_event_socket(cmd_parms *cmd, void *dummy,
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

/* An origin as browsers send it: scheme://host[:port], where the port
 * may be "*" (any port: development's http://localhost:*). */
const char *tm_add_cors_origin(cmd_parms *cmd, void *dummy,
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

const char *tm_set_websocket(cmd_parms *cmd, void *dirv, const char *arg)
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

/* ---------------------------------------------------------------------- */
/* Once the whole configuration is read                                   */

int tm_config_check_secrets(server_rec *s)
{
    server_rec *sp;

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
    return OK;
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

/* A tunnelled WebSocket holds a worker thread for its life; when all hold
 * one, Apache answers nothing else.  Unless told otherwise, tunnels may
 * take 60% of MaxRequestWorkers and leave the rest to REST.  A handed-off
 * socket holds no worker: with the hand-off on, the whole capacity is the
 * daemon's (TM_DEFAULT_HANDOFF_SOCKETS); with it off, every socket is a
 * tunnel.  The tunnels' share never exceeds the whole. */
void tm_config_default_sockets(server_rec *s)
{
    int daemons = 0, threads = 0, workers_share;
    server_rec *sp;

    ap_mpm_query(AP_MPMQ_MAX_DAEMONS, &daemons);
    ap_mpm_query(AP_MPMQ_MAX_THREADS, &threads);
    workers_share = daemons > 0 && threads > 0 ? daemons * threads * 6 / 10
                                               : 100;
    if (workers_share < 1) {
        workers_share = 1;
    }
    for (sp = s; sp; sp = sp->next) {
        tm_srv_conf *conf = ap_get_module_config(sp->module_config,
                                                 &timing_module);

        if (conf->tunnel_sockets == -1) {
            conf->tunnel_sockets = conf->ws_handoff == TM_HANDOFF_OFF
                                   && conf->max_sockets_set
                                   ? conf->max_sockets : workers_share;
        }
        if (!conf->max_sockets_set) {
            conf->max_sockets = conf->ws_handoff == TM_HANDOFF_OFF
                                ? conf->tunnel_sockets
                                : TM_DEFAULT_HANDOFF_SOCKETS;
        }
        if (conf->tunnel_sockets > conf->max_sockets) {
            conf->tunnel_sockets = conf->max_sockets;
        }
        default_shares(conf);
    }
}

/* WebSockets over HTTP/2 (RFC 8441's extended CONNECT) do not reach
 * timing-eventd: a browser that may use them opens /admin and /orders/
 * over HTTP/2, and the channels answer nothing it can use.  With
 * H2WebSockets off (mod_http2's default) browsers open their sockets over
 * HTTP/1.1.  The directive is looked for anywhere in the configuration,
 * virtual hosts included; a warning, since the rest of the server works. */
static const ap_directive_t *h2_websockets_on(apr_pool_t *ptemp,
                                              const ap_directive_t *d)
{
    for (; d; d = d->next) {
        const ap_directive_t *inner;

        if (d->directive && !strcasecmp(d->directive, "H2WebSockets")
            && d->args) {
            const char *args = d->args;
            const char *word = ap_getword_conf(ptemp, &args);

            if (!strcasecmp(word, "on")) {
                return d;
            }
        }
        if ((inner = h2_websockets_on(ptemp, d->first_child))) {
            return inner;
        }
    }
    return NULL;
}

int tm_config_check_h2_websockets(apr_pool_t *pconf, apr_pool_t *plog,
                                  apr_pool_t *ptemp, server_rec *s)
{
    const ap_directive_t *d = h2_websockets_on(ptemp, ap_conftree);

    (void)pconf;
    (void)plog;
    if (d) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, TMLOGNO(00005)
                     "WebSockets over HTTP/2 are not supported by Timing: "
                     "leave H2WebSockets off so browsers use HTTP/1.1 "
                     "(H2WebSockets on at %s:%d)",
                     d->filename ? d->filename : "?", d->line_num);
    }
    return OK;
}
