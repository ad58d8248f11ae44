/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tm_api_errors.c -- the envelope on answers Apache gives itself under
 * /api, before any <Location> applies.
 *
 * The ErrorDocument lines in timing.conf's <Location "/api/"> count only
 * once the location walk has run, and the core refuses some requests
 * before it: an id with %00 or an encoded slash (404 with
 * AllowEncodedSlashes Off), a bad escape (400); /api itself is outside
 * that <Location>; and a request line over LimitRequestLine (414) is
 * refused before there is a path at all.
 *
 * Only requests for /api or under /api/, and only on a server that serves
 * Timing (TimingEventSocket is set there, as timing.conf does beside its
 * <Location "/api/">), are touched: every other site on the server keeps
 * its own answers.  Two ways, by how far Apache got:
 *  - a request that was read (post_read_request) gets the API's error
 *    document for itself alone (ap_custom_response), so the core's 400 or
 *    404 goes to /api/error like any other, and tm_cors.c's
 *    tm_error_document answers it;
 *  - a request refused while it was read (a request line too long to
 *    parse, a header over the limits) gets no hook but the error
 *    response's: its path, or the partial line Apache kept, says where it
 *    went, and a filter puts the envelope in place of Apache's HTML.
 */
#include "mod_timing.h"
#include "tm_api_errors.h"
#include "tm_cors.h"
#include "tm_json.h"
#include "tm_router.h"

#include "http_core.h"
#include "http_protocol.h"
#include "http_request.h"
#include "util_filter.h"

APLOG_USE_MODULE(timing);

#define TM_ERROR_URL        "/api/error"
#define TM_ENVELOPE_FILTER  "TIMING_API_ERROR"

/* What the core may answer before the location walk, or for /api when no
 * handler takes it. */
static const int core_statuses[] = {
    HTTP_BAD_REQUEST, HTTP_FORBIDDEN, HTTP_NOT_FOUND,
    HTTP_METHOD_NOT_ALLOWED, HTTP_REQUEST_TIME_OUT, HTTP_LENGTH_REQUIRED,
    HTTP_REQUEST_ENTITY_TOO_LARGE, HTTP_REQUEST_URI_TOO_LARGE,
    HTTP_EXPECTATION_FAILED, HTTP_INTERNAL_SERVER_ERROR,
    HTTP_NOT_IMPLEMENTED, HTTP_SERVICE_UNAVAILABLE
};

int tm_api_path(const char *path)
{
    size_t n = sizeof TM_API_PREFIX - 2;        /* "/api" */

    return path && !strncmp(path, TM_API_PREFIX, n)
           && (path[n] == '\0' || path[n] == '/' || path[n] == '?'
               || path[n] == ' ');
}

static int serves_timing(const server_rec *s)
{
    const tm_srv_conf *conf = ap_get_module_config(s->module_config,
                                                   &timing_module);

    return conf && conf->event_socket_set;
}

static int api_errors_post_read(request_rec *r)
{
    size_t i;

    if (r->prev || r->main || !tm_api_path(r->uri)
        || !serves_timing(r->server)) {
        return DECLINED;
    }
    for (i = 0; i < sizeof core_statuses / sizeof *core_statuses; i++) {
        ap_custom_response(r, core_statuses[i], TM_ERROR_URL);
    }
    return DECLINED;
}

/* Drops Apache's HTML error page and sends the envelope instead; runs
 * before the headers go out, so the type and length are ours. */
static apr_status_t envelope_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    apr_bucket *e;
    const char *text;
    int eos = 0;

    for (e = APR_BRIGADE_FIRST(bb); e != APR_BRIGADE_SENTINEL(bb);
         e = APR_BUCKET_NEXT(e)) {
        if (APR_BUCKET_IS_EOS(e)) {
            eos = 1;
            break;
        }
    }
    apr_brigade_cleanup(bb);
    if (!eos) {
        return APR_SUCCESS;
    }
    ap_remove_output_filter(f);
    text = tm_error_text(r->pool, tm_error_code(r->status),
                         ap_get_status_line(r->status) + 4);
    ap_set_content_type(r, "application/json; charset=utf-8");
    ap_set_content_length(r, (apr_off_t)strlen(text));
    if (!r->header_only) {
        APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_pool_create(
            text, strlen(text), r->pool, f->c->bucket_alloc));
    }
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(f->c->bucket_alloc));
    return ap_pass_brigade(f->next, bb);
}

/* The request target of a request line ("GET /api/... HTTP/1.1"), or of
 * the part of it Apache kept when it was too long. */
static const char *line_target(const char *line)
{
    const char *sp = line ? strchr(line, ' ') : NULL;

    while (sp && *sp == ' ') {
        sp++;
    }
    return sp;
}

static void api_errors_insert(request_rec *r)
{
    /* A request the core read has a path; one it could not parse has
     * only the line.  Reaching here under /api means no error document
     * took it: refused before post_read_request (a request line or a
     * header over the limits), or the error document failed too. */
    const char *target = r->uri ? r->uri : line_target(r->the_request);

    if (r->main || r->status < 400 || !tm_api_path(target)
        || !serves_timing(r->server)) {
        return;
    }
    ap_add_output_filter(TM_ENVELOPE_FILTER, NULL, r, r->connection);
}

void tm_api_errors_register_hooks(void)
{
    ap_hook_post_read_request(api_errors_post_read, NULL, NULL,
                              APR_HOOK_MIDDLE);
    ap_hook_insert_error_filter(api_errors_insert, NULL, NULL,
                                APR_HOOK_MIDDLE);
    ap_register_output_filter(TM_ENVELOPE_FILTER, envelope_filter, NULL,
                              AP_FTYPE_CONTENT_SET);
}
