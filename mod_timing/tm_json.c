/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tm_json.c -- the envelopes every answer of the API is wrapped in.
 *
 * Success and error bodies are written here and nowhere else, so their
 * shape, content type and caching headers cannot drift between handlers.
 * Reading and validating request bodies comes with the endpoints that
 * take one.
 */
#include "mod_timing.h"
#include "tm_json.h"
#include "tm_body.h"

#include "http_protocol.h"
#include "apr_strings.h"
#include "tm_money.h"
#include "tm_valid.h"

#include <stdlib.h>

APLOG_USE_MODULE(timing);

#define TM_JSON_CONTENT_TYPE "application/json; charset=utf-8"

static apr_status_t json_put(void *data)
{
    json_object_put(data);
    return APR_SUCCESS;
}

void tm_json_put_cleanup(apr_pool_t *p, json_object *o)
{
    apr_pool_cleanup_register(p, o, json_put, apr_pool_cleanup_null);
}

json_object *tm_json_object(apr_pool_t *p)
{
    json_object *o = json_object_new_object();

    tm_json_put_cleanup(p, o);
    return o;
}

json_object *tm_json_array(apr_pool_t *p)
{
    json_object *o = json_object_new_array();

    tm_json_put_cleanup(p, o);
    return o;
}

json_object *tm_json_money(apr_int64_t minor)
{
    char buf[TM_MONEY_LEN];

    tm_money_format(minor, buf);
    return json_object_new_double_s(atof(buf), buf);
}

int tm_send_text(request_rec *r, int status, const char *text)
{
    size_t len = strlen(text);

    r->status = status;
    ap_set_content_type(r, TM_JSON_CONTENT_TYPE);
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    apr_table_setn(r->headers_out, "X-Content-Type-Options", "nosniff");
    ap_set_content_length(r, len);
    if (!r->header_only) {
        ap_rwrite(text, (int)len, r);
    }
    return OK;
}

static int write_json(request_rec *r, int status, json_object *root)
{
    tm_json_put_cleanup(r->pool, root);
    return tm_send_text(r, status, json_object_to_json_string_ext(
                            root, JSON_C_TO_STRING_PLAIN
                                  | JSON_C_TO_STRING_NOSLASHESCAPE));
}

const char *tm_envelope_text(apr_pool_t *p, json_object *data)
{
    json_object *root = json_object_new_object();

    json_object_object_add(root, "success", json_object_new_boolean(1));
    json_object_object_add(root, "data", data);
    tm_json_put_cleanup(p, root);
    return json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN
                                          | JSON_C_TO_STRING_NOSLASHESCAPE);
}

int tm_send(request_rec *r, int status, json_object *data, json_object *meta)
{
    json_object *root = json_object_new_object();

    json_object_object_add(root, "success", json_object_new_boolean(1));
    json_object_object_add(root, "data", data);
    if (meta) {
        json_object_object_add(root, "meta", meta);
    }
    return write_json(r, status, root);
}

int tm_send_list(request_rec *r, json_object *list)
{
    json_object *meta = json_object_new_object();

    json_object_object_add(meta, "next_cursor", NULL);
    json_object_object_add(meta, "count", json_object_new_int(
                               (int)json_object_array_length(list)));
    return tm_send(r, HTTP_OK, list, meta);
}

static json_object *error_root(const char *code, const char *message,
                               json_object *details)
{
    json_object *root = json_object_new_object();
    json_object *error = json_object_new_object();

    json_object_object_add(error, "code", json_object_new_string(code));
    json_object_object_add(error, "message", json_object_new_string(message));
    if (details) {
        json_object_object_add(error, "details", details);
    }
    json_object_object_add(root, "success", json_object_new_boolean(0));
    json_object_object_add(root, "error", error);
    return root;
}

const char *tm_error_text(apr_pool_t *p, const char *code,
                          const char *message)
{
    json_object *root = error_root(code, message, NULL);

    tm_json_put_cleanup(p, root);
    return json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN
                                          | JSON_C_TO_STRING_NOSLASHESCAPE);
}

int tm_fail_details(request_rec *r, int status, const char *code,
                    const char *message, json_object *details)
{
    return write_json(r, status, error_root(code, message, details));
}

int tm_fail(request_rec *r, int status, const char *code,
            const char *message)
{
    return tm_fail_details(r, status, code, message, NULL);
}

int tm_fail_db(request_rec *r)
{
    apr_table_setn(r->headers_out, "Retry-After", "5");
    return tm_fail(r, HTTP_SERVICE_UNAVAILABLE, "database_unavailable",
                   "The database is not reachable; try again shortly.");
}

int tm_body_read(request_rec *r, apr_off_t limit, char **body,
                 apr_size_t *len)
{
    const char *cl = apr_table_get(r->headers_in, "Content-Length");
    apr_off_t declared = 0;
    apr_size_t have = 0, cap;
    char *buf;
    int rv;

    /* Refuse a declared length over the limit before reading a byte. */
    if (cl && (!ap_parse_strict_length(&declared, cl) || declared > limit)) {
        return cl && declared > limit ? HTTP_REQUEST_ENTITY_TOO_LARGE
                                      : HTTP_BAD_REQUEST;
    }
    rv = ap_setup_client_block(r, REQUEST_CHUNKED_DECHUNK);
    if (rv != OK) {
        return rv;
    }
    cap = (apr_size_t)(declared > 0 ? declared : 8192);
    buf = apr_palloc(r->pool, cap + 1);
    if (ap_should_client_block(r)) {
        for (;;) {
            long n;

            if (have == cap) {
                char *bigger;

                if ((apr_off_t)cap >= limit + 1) {
                    return HTTP_REQUEST_ENTITY_TOO_LARGE;
                }
                cap = cap * 2 > (apr_size_t)limit + 1 ? (apr_size_t)limit + 1
                                                      : cap * 2;
                bigger = apr_palloc(r->pool, cap + 1);
                memcpy(bigger, buf, have);
                buf = bigger;
            }
            n = ap_get_client_block(r, buf + have, cap - have);
            if (n == 0) {
                break;
            }
            if (n < 0) {
                return HTTP_BAD_REQUEST;
            }
            have += (apr_size_t)n;
            if ((apr_off_t)have > limit) {
                return HTTP_REQUEST_ENTITY_TOO_LARGE;
            }
        }
    }
    buf[have] = '\0';
    *body = buf;
    *len = have;
    return OK;
}

json_object *tm_json_body(request_rec *r, const char *body, apr_size_t len)
{
    const char *type = apr_table_get(r->headers_in, "Content-Type");
    json_object *root;
    size_t tlen;

    tlen = type ? strcspn(type, "; \t") : 0;
    if (!type || tlen != sizeof "application/json" - 1
        || strncasecmp(type, "application/json", tlen)) {
        tm_fail(r, HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
                "Send the body as Content-Type: application/json.");
        return NULL;
    }
    switch (tm_body_parse(body, len, &root)) {
    case TM_BODY_OK:
        tm_json_put_cleanup(r->pool, root);
        return root;
    case TM_BODY_NULL:
        tm_fail(r, HTTP_UNPROCESSABLE_ENTITY, "validation_failed",
                "The body must be a JSON object, not null.");
        return NULL;
    case TM_BODY_BAD_UTF8:
        tm_fail(r, HTTP_BAD_REQUEST, "invalid_utf8",
                "The body is not valid UTF-8.");
        return NULL;
    case TM_BODY_TOO_DEEP:
        tm_fail(r, HTTP_BAD_REQUEST, "malformed_json",
                "The JSON body is nested too deeply.");
        return NULL;
    case TM_BODY_NOT_FINITE:
        tm_fail(r, HTTP_BAD_REQUEST, "malformed_json",
                "The body is not well-formed JSON (NaN and Infinity are not "
                "JSON).");
        return NULL;
    case TM_BODY_NO_MEMORY:
        tm_fail(r, HTTP_SERVICE_UNAVAILABLE, "unavailable", "Out of memory.");
        return NULL;
    default:
        tm_fail(r, HTTP_BAD_REQUEST, "malformed_json",
                "The body is not well-formed JSON.");
        return NULL;
    }
}

json_object *tm_json_body_object(request_rec *r, const char *body,
                                 apr_size_t len)
{
    json_object *root = tm_json_body(r, body, len);

    if (root && !json_object_is_type(root, json_type_object)) {
        tm_fail(r, HTTP_UNPROCESSABLE_ENTITY, "validation_failed",
                "The body must be a JSON object.");
        return NULL;
    }
    return root;
}

int tm_fail_problems(request_rec *r, const struct tm_problems *pr)
{
    json_object *details = json_object_new_array();
    int i;

    for (i = 0; i < pr->list->nelts; i++) {
        const tm_problem *p = &APR_ARRAY_IDX(pr->list, i, tm_problem);
        json_object *d = json_object_new_object();

        json_object_object_add(d, "field", json_object_new_string(p->field));
        json_object_object_add(d, "message",
                               json_object_new_string(p->message));
        json_object_array_add(details, d);
    }
    if (pr->bad_utf8) {
        return tm_fail_details(r, HTTP_BAD_REQUEST, "invalid_utf8",
                               "A text field is not valid UTF-8.", details);
    }
    return tm_fail_details(r, HTTP_UNPROCESSABLE_ENTITY, "validation_failed",
                           "Some fields are not valid; see details.",
                           details);
}
