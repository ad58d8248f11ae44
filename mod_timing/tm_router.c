/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tm_router.c -- routing /api/ requests and the checks every route shares.
 *
 * The route table itself is mod_timing.c's; a route names its method, its
 * path below /api/ (":id" segments must be ids: anything else is a 404 like
 * an unknown path), who may call it, and its handler.
 */
#include "mod_timing.h"
#include "tm_router.h"
#include "tm_access.h"
#include "tm_auth.h"
#include "tm_cors.h"
#include "tm_db.h"
#include "tm_json.h"
#include "tm_counters.h"
#include "tm_query.h"
#include "tm_users.h"
#include "tm_valid.h"

#include "apr_strings.h"
#include "http_protocol.h"

APLOG_USE_MODULE(timing);

/* Matches path (below /api/) against a pattern; captures :id segments. */
static int path_matches(const char *pattern, const char *path,
                        const char *params[2], apr_pool_t *p)
{
    int n = 0;

    while (*pattern && *path) {
        size_t plen = strcspn(pattern, "/"), len = strcspn(path, "/");

        if (!strncmp(pattern, ":id", plen) && plen == 3) {
            unsigned long id;
            const char *seg = apr_pstrmemdup(p, path, len);

            /* An id that does not parse, overflows or is negative names
             * nothing: a 404 like any unknown path. */
            if (n == 2 || !tm_parse_id(seg, &id)) {
                return 0;
            }
            params[n++] = apr_psprintf(p, "%lu", id);
        }
        else if (plen != len || strncmp(pattern, path, len)) {
            return 0;
        }
        pattern += plen;
        path += len;
        if (*pattern != *path) {
            return 0;
        }
        if (*pattern == '/') {
            pattern++;
            path++;
        }
    }
    return !*pattern && !*path;
}

static const char *allow_header(apr_pool_t *p, const char *path,
                                const tm_route *routes, size_t nroutes)
{
    const char *allow = NULL, *params[2];
    size_t i;

    for (i = 0; i < nroutes; i++) {
        if (path_matches(routes[i].path, path, params, p)) {
            const char *m = ap_method_name_of(p, routes[i].method);

            if (routes[i].method == M_GET) {
                m = "GET, HEAD";
            }
            allow = allow ? apr_pstrcat(p, allow, ", ", m, NULL) : m;
        }
    }
    return allow ? apr_pstrcat(p, allow, ", OPTIONS", NULL) : NULL;
}

int tm_router_handle(request_rec *r, const tm_route *routes, size_t nroutes)
{
    const tm_route *route = NULL;
    const char *path, *allow;
    tm_ctx ctx = { 0 };
    tm_identity *who = NULL;
    char *body = NULL;
    apr_size_t len = 0;
    size_t i;
    int rv;

    if (!r->handler || strcmp(r->handler, TM_HANDLER)) {
        return DECLINED;
    }
    ctx.r = r;
    ctx.conf = ap_get_module_config(r->server->module_config, &timing_module);
    tm_cors_apply(r, ctx.conf);
    if (tm_error_document(r)) {
        return OK;
    }

    /* 1. Route and method. */
    if (strncmp(r->uri, TM_API_PREFIX, sizeof TM_API_PREFIX - 1)) {
        return tm_fail(r, HTTP_NOT_FOUND, "not_found", "No such endpoint.");
    }
    path = r->uri + sizeof TM_API_PREFIX - 1;
    for (i = 0; i < nroutes; i++) {
        if (routes[i].method == r->method_number
            && path_matches(routes[i].path, path, ctx.params, r->pool)) {
            route = &routes[i];
            break;
        }
    }
    if (!route) {
        allow = allow_header(r->pool, path, routes, nroutes);
        if (!allow) {
            return tm_fail(r, HTTP_NOT_FOUND, "not_found",
                           "No such endpoint.");
        }
        if (r->method_number == M_OPTIONS) {
            return tm_cors_preflight(r, allow);
        }
        apr_table_setn(r->headers_out, "Allow", allow);
        return tm_fail(r, HTTP_METHOD_NOT_ALLOWED, "method_not_allowed",
                       apr_psprintf(r->pool, "%s is not allowed here; "
                                    "allowed: %s.", r->method, allow));
    }

    tm_counters_note_route(r, (size_t)(route - routes));

    /* 2. Credential: present but invalid is a 401 everywhere; a valid one
     * must still belong to an enabled user. */
    rv = tm_auth_bearer(r, ctx.conf, &who) == TM_CRED_INVALID
         ? HTTP_UNAUTHORIZED
         : who ? tm_users_refresh(r, tm_db_acquire(r), who) : OK;
    if (rv == HTTP_SERVICE_UNAVAILABLE) {
        return tm_fail_db(r);
    }
    if (rv != OK) {
        apr_table_setn(r->err_headers_out, "WWW-Authenticate",
                       "Bearer error=\"invalid_token\"");
        return tm_fail(r, HTTP_UNAUTHORIZED, "invalid_token",
                       "The token is invalid or has expired.");
    }
    ctx.who = who;
    if (route->access != TM_OPEN && !who) {
        apr_table_setn(r->err_headers_out, "WWW-Authenticate", "Bearer");
        return tm_fail(r, HTTP_UNAUTHORIZED, "unauthorized",
                       "This needs a token: Authorization: Bearer <token>.");
    }
    if ((route->access == TM_STAFF && !tm_role_is_staff(who->role))
        || (route->access == TM_ADMIN && strcmp(who->role, "admin"))) {
        return tm_fail(r, HTTP_FORBIDDEN, "forbidden",
                       "Your role may not do this.");
    }

    /* 3. Input: query string and body. */
    if (tm_query_parse(r->pool, r->args, &ctx.query) != APR_SUCCESS) {
        return tm_fail(r, HTTP_BAD_REQUEST, "bad_query",
                       "The query string is not valid: bad percent-escape, "
                       "NUL or invalid UTF-8.");
    }
    rv = tm_body_read(r, ctx.conf->body_limit, &body, &len);
    if (rv == HTTP_REQUEST_ENTITY_TOO_LARGE) {
        return tm_fail(r, rv, "payload_too_large",
                       apr_psprintf(r->pool, "The request body is larger than "
                                    "%" APR_OFF_T_FMT " bytes.",
                                    ctx.conf->body_limit));
    }
    if (rv != OK) {
        return tm_fail(r, HTTP_BAD_REQUEST, "bad_request",
                       "The request body could not be read.");
    }
    ctx.body = body;
    ctx.body_len = len;
    return route->fn(&ctx);
}
