/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mod_timing.c -- Timing's REST API inside Apache httpd.
 *
 * This file holds the configuration records and their merge, the command
 * table (its setters and the checks at start are tm_config.c's), the
 * hooks and the route table.  The endpoints live in tm_*.c.
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
#include "tm_config.h"
#include "tm_counters.h"
#include "tm_db.h"
#include "tm_events.h"
#include "tm_handoff.h"
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

#include "http_protocol.h"
#include "http_request.h"


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
    conf->tunnel_sockets = -1;
    conf->staff_sockets = -1;
    conf->order_sockets = -1;
    conf->address_sockets = -1;
    conf->ws_handoff = TM_HANDOFF_AUTO;
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
    TM_MERGE(ws_handoff);
#undef TM_MERGE
#define TM_MERGE_COUNT(field) \
    do { \
        conf->field = add->field != -1 ? add->field : base->field; \
    } while (0)
    TM_MERGE_COUNT(tunnel_sockets);
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

/* A directive of one kind: the setter (tm_config.c) reads what field it
 * sets and what values it takes from cmd->info, a tm_param or a
 * tm_secret; a tm_param's error is the one message for any bad value. */
#define TM_INFO(type, ...) ((void *)&((const type){ __VA_ARGS__ }))
#define TM_KIND(name, setter, help, ...) \
    AP_INIT_TAKE1(name, setter, TM_INFO(tm_param, __VA_ARGS__), RSRC_CONF, \
                  help)
/* TimingStaffSockets and the like have no *_set flag: -1 is unset. */
#define TM_SHARE(name, field, help) \
    TM_KIND(name, tm_set_count, help, TM_PARAM_FIELD(field), \
            .set_flag = TM_NO_FLAG, .max = 1000000, \
            .error = name " must be a number of WebSockets from 0 to 1000000")
#define TM_JWT_KEY \
    TM_INFO(tm_secret, TM_SECRET(jwt_secret), .what = "JWT secret", \
            .min_len = TM_MIN_SECRET_LEN, \
            .again = "a JWT secret is already set for this server")

static const command_rec timing_cmds[] = {
    AP_INIT_TAKE1("TimingJWTSecret", tm_set_secret, TM_JWT_KEY, RSRC_CONF,
                  "The HS256 key for tokens, at least 32 bytes "
                  "(prefer TimingJWTSecretFile)"),
    AP_INIT_TAKE1("TimingJWTSecretFile", tm_set_secret_file, TM_JWT_KEY,
                  RSRC_CONF, "A file holding the HS256 key, read at "
                  "start-up"),
    /* The key before the last rotation: it verifies tokens it signed
     * until they have expired (TimingTokenLifetime), then the line can
     * go. */
    AP_INIT_TAKE1("TimingJWTPreviousSecretFile", tm_set_secret_file,
                  TM_INFO(tm_secret, TM_SECRET(jwt_prev_secret),
                          .what = "JWT secret", .min_len = TM_MIN_SECRET_LEN,
                          .again = "a previous JWT secret is already set "
                                   "for this server"),
                  RSRC_CONF, "The key before the last rotation: verifies, "
                  "never signs"),
    AP_INIT_TAKE1("TimingJWTIssuer", tm_set_issuer, NULL, RSRC_CONF,
                  "The iss claim tokens are issued with and must carry"),
    TM_KIND("TimingTokenLifetime", tm_set_duration,
            "How long an issued token is valid (default 12h)",
            TM_PARAM(token_lifetime), .unit = "s",
            .min = apr_time_from_sec(60), .max = apr_time_from_sec(30 * 86400),
            .error = "TimingTokenLifetime must be between 60 seconds and 30 "
                     "days (e.g. 43200, 720m or 12h... in seconds or with "
                     "ms/s/mi/h)"),
    AP_INIT_TAKE1("TimingEventSocket", tm_set_event_socket, NULL, RSRC_CONF,
                  "timing-eventd's event socket (unix datagram)"),
    TM_KIND("TimingBodyLimit", tm_set_count,
            "Largest request body accepted, in bytes (default 65536)",
            TM_PARAM(body_limit), .digits = 1, .min = 1024,
            .max = 16 * 1024 * 1024,
            .error = "TimingBodyLimit must be a number of bytes from 1024 to "
                     "16777216"),
    TM_KIND("TimingOrderRateLimit", tm_set_count,
            "Orders a minute one client address may place (default 30; 0: "
            "no limit)",
            TM_PARAM(order_rate_limit), .max = 1000000,
            .error = "TimingOrderRateLimit must be a number of orders a "
                     "minute per client address, 0 (no limit) to 1000000"),
    TM_KIND("TimingRegisterRateLimit", tm_set_count,
            "Accounts an hour one client address (an IPv6 /64) may "
            "register (default 20; 0: no limit)",
            TM_PARAM(register_rate_limit), .digits = 1, .max = 1000000,
            .error = "TimingRegisterRateLimit must be a number of "
                     "registrations an hour per client address, 0 (no "
                     "limit) to 1000000"),
    TM_KIND("TimingLoginRateLimit", tm_set_count,
            "Successful logins a minute from one client address (an IPv6 "
            "/64) (default 30; 0: no limit)",
            TM_PARAM(login_rate_limit), .digits = 1, .max = 1000000,
            .error = "TimingLoginRateLimit must be a number of logins a "
                     "minute per client address, 0 (no limit) to 1000000"),
    TM_KIND("TimingEventHorizon", tm_set_duration,
            "How long a gap in event ids may still fill (default 2s)",
            TM_PARAM(event_horizon), .unit = "ms",
            .min = apr_time_from_msec(100), .max = apr_time_from_sec(60),
            .error = "TimingEventHorizon must be from 100ms to 60s (a number "
                     "is milliseconds; or 2s)"),
    AP_INIT_ITERATE("TimingCorsOrigins", tm_add_cors_origin, NULL, RSRC_CONF,
                    "Origins whose pages may call the API (CORS); the port "
                    "may be *"),
    TM_KIND("TimingSocketLifetime", tm_set_duration,
            "How long a WebSocket may live before it is asked to "
            "reconnect, jittered down by up to a fifth (default 3h; 0: no "
            "limit)",
            TM_PARAM(socket_lifetime), .unit = "s", .zero_ok = 1,
            .min = apr_time_from_sec(1), .max = apr_time_from_sec(7 * 86400),
            .error = "TimingSocketLifetime must be 0 (no limit) or from 1s "
                     "to 7 days (a number is seconds; or 90min, 3h)"),
    TM_KIND("TimingMaxSockets", tm_set_count,
            "Live WebSockets allowed at once (default 10000 with "
            "TimingWebSocketHandoff auto; with off, TimingTunnelSockets')",
            TM_PARAM(max_sockets), .min = 1, .max = 1000000,
            .error = "TimingMaxSockets must be a number of WebSockets from 1 "
                     "to 1000000"),
    TM_KIND("TimingTunnelSockets", tm_set_count,
            "Of TimingMaxSockets, how many may be tunnelled through Apache, "
            "each holding a worker thread (default: 60% of "
            "MaxRequestWorkers)",
            TM_PARAM_FIELD(tunnel_sockets), .set_flag = TM_NO_FLAG,
            .min = 1, .max = 1000000,
            .error = "TimingTunnelSockets must be a number of WebSockets "
                     "from 1 to 1000000"),
    TM_SHARE("TimingStaffSockets", staff_sockets, "Of TimingMaxSockets, "
             "how many only staff may take (default a tenth)"),
    TM_SHARE("TimingOrderSockets", order_sockets, "Customer WebSockets one "
             "order may have open (default 5; 0: no cap)"),
    TM_SHARE("TimingAddressSockets", address_sockets, "Customer WebSockets "
             "one client address (an IPv6 /64) may have open (default half "
             "the customers' share; 0: no cap)"),
    AP_INIT_TAKE1("TimingEventdSecretFile", tm_set_secret_file,
                  TM_INFO(tm_secret, TM_SECRET(eventd_secret),
                          .what = "secret", .min_len = TP_MIN_SECRET_LEN),
                  RSRC_CONF, "A file holding the secret mod_timing seals "
                  "its messages to timing-eventd with, read at start-up"),
    TM_KIND("TimingEventRetention", tm_set_retention,
            "How long timing-maintain keeps events for clients to catch up "
            "from (default 30d)",
            TM_PARAM(event_retention), .min = TM_DAY, .max = APR_INT64_MAX,
            .error = "TimingEventRetention must be at least 1 day (a number "
                     "of days, or with s, min, h or d: 30d, 720h)"),
    TM_KIND("TimingIdempotencyRetention", tm_set_retention,
            "How long an Idempotency-Key answers again (default and least "
            "24h)",
            TM_PARAM(idem_retention), .min = TM_DAY, .max = APR_INT64_MAX,
            .error = "TimingIdempotencyRetention must be at least 24h (the "
                     "API promises a day; a number of days, or with s, min, "
                     "h or d)"),
    TM_KIND("TimingPersonalDataRetention", tm_set_retention,
            "After how long timing-maintain erases customers' details of "
            "finished orders (default 90d; 0: never)",
            TM_PARAM(personal_retention), .zero_ok = 1, .min = TM_DAY,
            .max = APR_INT64_MAX,
            .error = "TimingPersonalDataRetention must be 0 (keep) or at "
                     "least 1 day (a number of days, or with s, min, h or d: "
                     "90d)"),
    /* Each proxied WebSocket holds an Apache worker for its life; a
     * handed-off one holds none (tm_handoff.c). */
    TM_KIND("TimingWebSocketHandoff", tm_set_choice,
            "auto: hand accepted plaintext HTTP/1.1 WebSocket upgrades "
            "to timing-eventd with their socket; off: tunnel every one "
            "(default auto)",
            TM_PARAM(ws_handoff),
            .words = (const char *const[]){ "off", "auto", NULL },
            .min = TM_HANDOFF_OFF, .max = TM_HANDOFF_AUTO,
            .error = "TimingWebSocketHandoff must be 'auto' or 'off'"),
    AP_INIT_TAKE1("TimingWebSocket", tm_set_websocket, NULL, ACCESS_CONF,
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
    const tm_srv_conf *conf;
    const char *keeps_tunnel;
    int status;

    if (!dir || (dir->ws_channel != TM_WS_ADMIN
                 && dir->ws_channel != TM_WS_ORDER)) {
        return DECLINED;
    }
    conf = ap_get_module_config(r->server->module_config, &timing_module);
    keeps_tunnel = tm_handoff_keeps_tunnel(r, conf);
    status = tm_upgrade_guard(r, conf, dir->ws_channel, keeps_tunnel != NULL);
    /* Accepted: hand the socket to the daemon, or leave it to the tunnel
     * (DECLINED) */
    if (status == OK
        && (status = tm_handoff(r, conf, keeps_tunnel)) == DECLINED) {
        status = OK;
    }
    return status;
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

static int timing_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                              apr_pool_t *ptemp, server_rec *s)
{
    const char *missing = tm_db_init();
    apr_status_t rv;

    (void)plog;
    (void)ptemp;
    if (missing) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, TMLOGNO(00001) "%s",
                     missing);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (tm_config_check_secrets(s) != OK) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    tm_config_default_sockets(s);
    tm_metrics_label_routes(routes, N_ROUTES);
    tm_handoff_watch_stop(pconf, s);
    rv = tm_counters_init(s, N_ROUTES);
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
    tm_upgrade_child_init(p, s);
}

static void timing_register_hooks(apr_pool_t *p)
{
    /* Our statements must be registered before mod_dbd builds its pools. */
    static const char *const before_dbd[] = { "mod_dbd.c", NULL };

    (void)p;
    ap_hook_post_config(timing_post_config, NULL, before_dbd,
                        APR_HOOK_MIDDLE);
    ap_hook_check_config(tm_config_check_h2_websockets, NULL, NULL,
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
    ap_hook_log_transaction(tm_counters_log, NULL, NULL, APR_HOOK_MIDDLE);
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
