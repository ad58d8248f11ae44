/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tm_cors.c -- CORS and the API's ErrorDocument.
 *
 * Credentials are allowed only for listed origins, and only those get any
 * CORS header at all: an unlisted origin sees a plain answer, which the
 * browser keeps from its page.
 */
#include "mod_timing.h"
#include "tm_cors.h"
#include "tm_json.h"

#include "apr_lib.h"
#include "apr_strings.h"
#include "http_protocol.h"

#include <stdlib.h>

/* Exact origins, or "scheme://host:*" for any port of that host. */
static int origin_listed(const tm_srv_conf *conf, const char *origin)
{
    int i;

    for (i = 0; i < conf->cors_origins->nelts; i++) {
        const char *o = APR_ARRAY_IDX(conf->cors_origins, i, const char *);
        size_t len = strlen(o);

        if (len > 2 && !strcmp(o + len - 2, ":*")) {
            const char *p;

            if (strncasecmp(origin, o, len - 2)) {
                continue;
            }
            p = origin + len - 2;
            if (!*p) {
                return 1;       /* the default port */
            }
            if (*p++ != ':' || !*p) {
                continue;
            }
            while (apr_isdigit(*p)) {
                p++;
            }
            if (!*p) {
                return 1;
            }
        }
        else if (!strcasecmp(origin, o)) {
            return 1;
        }
    }
    return 0;
}

void tm_cors_apply(request_rec *r, const tm_srv_conf *conf)
{
    const char *origin = apr_table_get(r->headers_in, "Origin");

    apr_table_mergen(r->err_headers_out, "Vary", "Origin");
    if (!origin || !origin_listed(conf, origin)) {
        return;
    }
    apr_table_setn(r->err_headers_out, "Access-Control-Allow-Origin", origin);
    apr_table_setn(r->err_headers_out, "Access-Control-Allow-Credentials",
                   "true");
    apr_table_setn(r->err_headers_out, "Access-Control-Expose-Headers",
                   "Retry-After, Location, ETag, Idempotent-Replayed");
}

int tm_cors_preflight(request_rec *r, const char *allow)
{
    if (apr_table_get(r->err_headers_out, "Access-Control-Allow-Origin")
        && apr_table_get(r->headers_in, "Access-Control-Request-Method")) {
        apr_table_setn(r->err_headers_out, "Access-Control-Allow-Methods",
                       allow);
        apr_table_setn(r->err_headers_out, "Access-Control-Allow-Headers",
                       "Authorization, Content-Type, Idempotency-Key, "
                       "If-Match");
        apr_table_setn(r->err_headers_out, "Access-Control-Max-Age", "600");
    }
    apr_table_setn(r->headers_out, "Allow", allow);
    r->status = HTTP_NO_CONTENT;
    return OK;
}

const char *tm_error_code(int status)
{
    static const struct { int status; const char *code; } codes[] = {
        { 400, "bad_request" }, { 401, "unauthorized" },
        { 403, "forbidden" }, { 404, "not_found" },
        { 405, "method_not_allowed" }, { 408, "request_timeout" },
        { 411, "length_required" }, { 413, "payload_too_large" },
        { 414, "uri_too_long" }, { 415, "unsupported_media_type" },
        { 417, "expectation_failed" }, { 431, "headers_too_large" },
        { 500, "internal_error" }, { 501, "not_implemented" },
        { 502, "bad_gateway" }, { 503, "unavailable" },
    };
    size_t i;

    for (i = 0; i < sizeof codes / sizeof *codes; i++) {
        if (codes[i].status == status) {
            return codes[i].code;
        }
    }
    return "error";
}

int tm_error_document(request_rec *r)
{
    const char *redirect = r->prev
        ? apr_table_get(r->subprocess_env, "REDIRECT_STATUS") : NULL;
    int status;

    if (!redirect) {
        return 0;
    }
    status = atoi(redirect);
    if (status < 400 || status > 599) {
        status = HTTP_INTERNAL_SERVER_ERROR;
    }
    tm_fail(r, status, tm_error_code(status), ap_get_status_line(status) + 4);
    return 1;
}
