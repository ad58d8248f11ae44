/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tm_json.h -- JSON in and out of a request: the success and error
 * envelopes (the only place either is written), and json-c objects tied
 * to a request's pool.
 */
#ifndef TM_JSON_H
#define TM_JSON_H

#include "httpd.h"
#include <json.h>

/* A new object whose reference is dropped when pool p is cleared. */
json_object *tm_json_object(apr_pool_t *p);
json_object *tm_json_array(apr_pool_t *p);
/* Ties an existing root object to pool p. */
void tm_json_put_cleanup(apr_pool_t *p, json_object *o);

/* Money from integer minor units, written with at most two decimals
 * exactly as tm_money formats it (never through a double's text). */
json_object *tm_json_money(apr_int64_t minor);

/* Writes {"success":true,"data":data[,"meta":meta]} with status.  Takes
 * ownership of data and meta.  Returns OK for the handler to return. */
int tm_send(request_rec *r, int status, json_object *data, json_object *meta);

/* A whole (unpaged) list: 200 with meta {"next_cursor": null, "count"},
 * as every list of the API has it.  Takes ownership of list. */
int tm_send_list(request_rec *r, json_object *list);

/* Writes {"success":false,"error":{code,message[,details]}} with status.
 * Takes ownership of details (a JSON array, or NULL). */
int tm_fail_details(request_rec *r, int status, const char *code,
                    const char *message, json_object *details);
int tm_fail(request_rec *r, int status, const char *code,
            const char *message);

/* 503 database_unavailable, with Retry-After. */
int tm_fail_db(request_rec *r);

/* Reads the request body, at most `limit` bytes, into a NUL-terminated
 * buffer in r->pool.  Returns OK, or the status to answer: 413 over the
 * limit, 400 when the body cannot be read. */
int tm_body_read(request_rec *r, apr_off_t limit, char **body,
                 apr_size_t *len);

/* The request body as a JSON value, tied to r->pool.  When the body is
 * not JSON it answers 415 (wrong Content-Type) or 400 (malformed, invalid
 * UTF-8, nested too deep) itself and returns NULL: the handler then
 * returns OK. */
json_object *tm_json_body(request_rec *r, const char *body, apr_size_t len);

/* tm_json_body for endpoints that take an object: anything else is a 422
 * answered here too. */
json_object *tm_json_body_object(request_rec *r, const char *body,
                                 apr_size_t len);

/* 422 validation_failed with details [{field, message}] from problems
 * (an apr_array_header_t of tm_problem), or 400 when a string was not
 * UTF-8. */
struct tm_problems;
int tm_fail_problems(request_rec *r, const struct tm_problems *pr);

/* The text of {"success":true,"data":data}, taking data; in p. */
const char *tm_envelope_text(apr_pool_t *p, json_object *data);

/* The text of {"success":false,"error":{code, message}}; in p. */
const char *tm_error_text(apr_pool_t *p, const char *code,
                          const char *message);

/* Writes a JSON text already built (a stored answer) with status. */
int tm_send_text(request_rec *r, int status, const char *text);

#endif /* TM_JSON_H */
