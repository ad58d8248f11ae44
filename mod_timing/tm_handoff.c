/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tm_handoff.c -- hands an accepted WebSocket upgrade's TCP socket to
 * timing-eventd (TP_HANDOFF, timing_proto.h) instead of tunnelling it.
 *
 * On the tunnel (mod_proxy_wstunnel) every WebSocket holds an Apache
 * worker for its life.  Here the upgrade the guard accepted goes to the
 * daemon with the socket itself (SCM_RIGHTS on the event socket): the
 * same request head the tunnel would forward, sealed X-Timing-* headers
 * and all, so the daemon's handshake.c and admit.c decide exactly as on
 * the tunnel, plus what Apache had already read past it.  The daemon
 * answers the client (101, or 429/503 from admission), acks, and owns
 * the socket; the worker goes back to the pool at once.
 *
 * Only where the bytes on the socket are the client's own: plaintext
 * (TLS keeps the tunnel), HTTP/1.1 on its own connection (an HTTP/2
 * stream keeps the tunnel), and no connection filter but ones that pass
 * bytes unchanged.  Once handed off, Apache must neither write to nor
 * shut down the socket: its HTTP output filters are bypassed (as
 * mod_proxy_wstunnel does), the connection is not kept alive, and, as
 * mod_proxy_fdpass does, a dummy socket takes its place in the
 * connection's core config, so the lingering close shuts that one down
 * and only close()s the client's descriptor -- the daemon's copy of the
 * open file keeps the connection.
 *
 * When Apache's parent exits for good (not a reload) the daemon is told,
 * from a cleanup of the configuration pool that looks at Apache's state
 * (AP_SQ_MS_EXITING, set only then) and runs only in the parent.
 */
#include "mod_timing.h"
#include "tm_handoff.h"
#include "tm_json.h"
#include "tm_notify.h"
#include "tm_upgrade.h"
#include "timing_proto.h"

#include "apr_strings.h"
#include "apr_portable.h"
#include "http_connection.h"
#include "http_core.h"
#include "http_protocol.h"
#include "http_ssl.h"
#include "util_filter.h"

#include <json.h>
#include <string.h>
#include <unistd.h>

APLOG_USE_MODULE(timing);

/* Connection filters that pass the client's bytes unchanged. */
static const char *const passthrough[] = {
    "core", "core_in", "reqtimeout", "log_input_output", "logio_ttfu_in",
    "logio_ttfb_out", NULL
};

/* The first filter of the chain that may change bytes, or NULL. */
static const char *changing_filter(ap_filter_t *f)
{
    for (; f; f = f->next) {
        int i;

        for (i = 0; passthrough[i]; i++) {
            if (!strcasecmp(f->frec->name, passthrough[i])) {
                break;
            }
        }
        if (!passthrough[i]) {
            return f->frec->name;
        }
    }
    return NULL;
}

const char *tm_handoff_keeps_tunnel(request_rec *r, const tm_srv_conf *conf)
{
    conn_rec *c = r->connection;
    const char *f;

    if (conf->ws_handoff == TM_HANDOFF_OFF) {
        return "TimingWebSocketHandoff off";
    }
    if (c->master) {
        return "an HTTP/2 stream";
    }
    if (ap_ssl_conn_is_ssl(c)) {
        return "TLS";
    }
    if (r->proto_num != HTTP_VERSION(1, 1) || r->main || r->prev) {
        return "not a plain HTTP/1.1 request";
    }
    /* The message carries a GET's head: anything else, or a body, is the
     * daemon's to refuse through the tunnel as before. */
    if (strcmp(r->method, "GET") || r->header_only
        || apr_table_get(r->headers_in, "Transfer-Encoding")
        || (apr_table_get(r->headers_in, "Content-Length")
            && strcmp(apr_table_get(r->headers_in, "Content-Length"), "0"))) {
        return "not a GET without a body";
    }
    if ((f = changing_filter(c->input_filters)) != NULL
        || (f = changing_filter(c->output_filters)) != NULL) {
        return apr_pstrcat(r->pool, "the connection filter ", f, NULL);
    }
    return NULL;
}

/* What Apache already read past the request head, without waiting and
 * without taking it: APR_SUCCESS (*extra may be empty), or APR_ENOSPC
 * when there is more than a hand-off carries. */
static apr_status_t read_ahead(request_rec *r, const char **extra,
                               apr_size_t *len)
{
    conn_rec *c = r->connection;
    apr_bucket_brigade *bb = apr_brigade_create(r->pool, c->bucket_alloc);
    apr_off_t have = 0;
    apr_status_t rv;
    char *buf;

    *extra = NULL;
    *len = 0;
    rv = ap_get_brigade(c->input_filters, bb, AP_MODE_SPECULATIVE,
                        APR_NONBLOCK_READ, TP_HANDOFF_MAX_EXTRA + 1);
    if (APR_STATUS_IS_EAGAIN(rv) || rv == APR_EOF) {
        apr_brigade_destroy(bb);
        return APR_SUCCESS;
    }
    if (rv == APR_SUCCESS) {
        rv = apr_brigade_length(bb, 1, &have);
    }
    if (rv == APR_SUCCESS && have > TP_HANDOFF_MAX_EXTRA) {
        rv = APR_ENOSPC;
    }
    if (rv == APR_SUCCESS && have > 0) {
        rv = apr_brigade_pflatten(bb, &buf, len, r->pool);
        *extra = buf;
    }
    apr_brigade_destroy(bb);
    return rv;
}

static int add_header(void *parts, const char *key, const char *value)
{
    *(const char **)apr_array_push(parts) = key;
    *(const char **)apr_array_push(parts) = ": ";
    *(const char **)apr_array_push(parts) = value;
    *(const char **)apr_array_push(parts) = "\r\n";
    return 1;
}

/* The request head the tunnel would have forwarded: the path (the guard
 * took the query away) and every header, the sealed ones included. */
static const char *request_head(request_rec *r, apr_size_t *len)
{
    apr_array_header_t *parts = apr_array_make(r->pool, 64,
                                               sizeof(const char *));
    char *head;

    *(const char **)apr_array_push(parts) = "GET ";
    *(const char **)apr_array_push(parts) = ap_escape_uri(r->pool, r->uri);
    *(const char **)apr_array_push(parts) = " HTTP/1.1\r\n";
    apr_table_do(add_header, parts, r->headers_in, NULL);
    *(const char **)apr_array_push(parts) = "\r\n";
    head = apr_array_pstrcat(r->pool, parts, 0);
    *len = strlen(head);
    return head;
}

/* The ack for one hand-off: its id, and what the daemon answered. */
typedef struct ack_wait {
    const char *id;
    int status;
} ack_wait;

static int take_ack(const char *answer, size_t n, void *baton)
{
    ack_wait *w = baton;
    json_tokener *tok = json_tokener_new();
    json_object *o = tok ? json_tokener_parse_ex(tok, answer, (int)n) : NULL;
    json_object *id, *status;
    int mine = 0;

    if (o && json_object_object_get_ex(o, "id", &id)
        && json_object_is_type(id, json_type_string)
        && !strcmp(json_object_get_string(id), w->id)
        && json_object_object_get_ex(o, "status", &status)
        && json_object_is_type(status, json_type_int)) {
        w->status = json_object_get_int(status);
        mine = 1;
    }
    json_object_put(o);
    if (tok) {
        json_tokener_free(tok);
    }
    return mine;
}

/* 503 with Retry-After and the API's envelope; the connection ends
 * there (the client may have sent frames after its upgrade). */
static int unavailable(request_rec *r, apr_status_t rv, const char *why)
{
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, rv, r, TMLOGNO(00801)
                  "WebSocket upgrade not handed off: %s", why);
    r->connection->keepalive = AP_CONN_CLOSE;
    apr_table_setn(r->headers_out, "Retry-After", "10");
    tm_fail(r, HTTP_SERVICE_UNAVAILABLE, "events_unavailable",
            "The WebSocket service is not answering.");
    return DONE;
}

/* The daemon owns the socket now: Apache writes nothing more to it and
 * never shuts it down (see the file's header). */
static int let_go(request_rec *r, int status)
{
    conn_rec *c = r->connection;
    apr_socket_t *dummy;
    apr_status_t rv = apr_socket_create(&dummy, APR_INET, SOCK_STREAM,
                                        APR_PROTO_TCP, c->pool);

    if (rv != APR_SUCCESS) {
        /* The daemon has answered: all Apache may do is stop. */
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r, TMLOGNO(00802)
                      "no dummy socket for a handed-off connection: it "
                      "may be shut down under the daemon");
    }
    else {
        ap_set_core_module_config(c->conn_config, dummy);
    }
    r->output_filters = r->proto_output_filters = c->output_filters;
    c->keepalive = AP_CONN_CLOSE;
    /* For the access log: the daemon's answer. */
    r->status = status;
    return DONE;
}

int tm_handoff(request_rec *r, const tm_srv_conf *conf, const char *why)
{
    const char *extra, *head;
    apr_size_t extra_len, head_len;
    unsigned char raw[TP_HANDOFF_ID_LEN / 2];
    char id[TP_HANDOFF_ID_LEN + 1], *body;
    apr_os_sock_t fd;
    ack_wait w = { id, 0 };
    apr_size_t len, cap;
    apr_status_t rv;

    if (why) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, TMLOGNO(00803)
                      "WebSocket upgrade tunnelled: %s", why);
        return DECLINED;
    }
    if ((rv = read_ahead(r, &extra, &extra_len)) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, rv, r, TMLOGNO(00804)
                      "WebSocket upgrade tunnelled: cannot hand over what "
                      "was read past the request");
        return DECLINED;
    }
    if (apr_os_sock_get(&fd, ap_get_conn_socket(r->connection))
        != APR_SUCCESS || fd < 0) {
        return DECLINED;
    }
    if (apr_generate_random_bytes(raw, sizeof raw) != APR_SUCCESS) {
        return unavailable(r, APR_EGENERAL, "no random bytes for its id");
    }
    ap_bin2hex(raw, sizeof raw, id);
    head = request_head(r, &head_len);
    cap = TP_HANDOFF_ID_LEN + 1 + head_len + extra_len;
    body = apr_palloc(r->pool, cap);
    len = tp_handoff_encode(body, cap, id, head, head_len, extra, extra_len);
    if (len == 0) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, TMLOGNO(00805)
                      "WebSocket upgrade tunnelled: its head is too long "
                      "for a hand-off");
        return DECLINED;
    }
    rv = tm_notify_ask(r->pool, conf, TP_HANDOFF, body, len, fd,
                       TP_HANDOFF_ACK,
                       apr_time_from_msec(TP_HANDOFF_ACK_MS), take_ack, &w);
    if (rv != APR_SUCCESS) {
        return unavailable(r, rv, APR_STATUS_IS_TIMEUP(rv)
                                  ? "timing-eventd did not acknowledge"
                                  : "timing-eventd is not reachable");
    }
    if (w.status <= 0) {
        return unavailable(r, APR_SUCCESS, "timing-eventd did not take it");
    }
    return let_go(r, w.status);
}

/* ---------------------------------------------------------------------- */
/* Apache stopping for good                                               */

static pid_t parent_pid;

static apr_status_t tell_stopped(void *data)
{
    server_rec *s = data;

    /* A reload clears the configuration too (AP_SQ_MS_DESTROY_CONFIG),
     * and children inherit this cleanup: only the parent's exit counts. */
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_EXITING
        && getpid() == parent_pid) {
        tm_notify_apache_stopped(ap_get_module_config(s->module_config,
                                                      &timing_module),
                                 tm_upgrade_generation());
    }
    return APR_SUCCESS;
}

void tm_handoff_watch_stop(apr_pool_t *pconf, server_rec *s)
{
    /* The first pass checks the configuration, perhaps in a process that
     * then detaches and exits: not the server stopping. */
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return;
    }
    parent_pid = getpid();
    apr_pool_cleanup_register(pconf, s, tell_stopped, apr_pool_cleanup_null);
}
