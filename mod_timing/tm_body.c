/*
 * tm_body.c -- strict JSON for request bodies: valid UTF-8, one value,
 * bounded depth, no NaN or Infinity.
 */
#include <string.h>

#include "tm_body.h"
#include "tm_valid.h"

tm_body_result tm_body_parse(const char *body, size_t len, json_object **out)
{
    struct json_tokener *tok;
    json_object *root;
    enum json_tokener_error err;
    size_t end;

    *out = NULL;
    if (!tm_utf8_valid(body, len)) {
        return TM_BODY_BAD_UTF8;
    }
    tok = json_tokener_new_ex(TM_JSON_MAX_DEPTH);
    if (!tok) {
        return TM_BODY_NO_MEMORY;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    /* Including the terminating NUL tells json-c the input has ended, so a
     * bare number or literal ("null") is complete. */
    root = json_tokener_parse_ex(tok, body, (int)len + 1);
    err = json_tokener_get_error(tok);
    end = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    if (err != json_tokener_success) {
        json_object_put(root);
        return err == json_tokener_error_depth ? TM_BODY_TOO_DEEP
                                               : TM_BODY_MALFORMED;
    }
    /* The whole body must be one value: nothing but white space after it
     * (a NUL inside the body is not white space). */
    while (end < len && body[end] && strchr(" \t\r\n", body[end])) {
        end++;
    }
    if (end < len) {
        json_object_put(root);
        return TM_BODY_MALFORMED;
    }
    if (!root) {
        return TM_BODY_NULL;
    }
    if (!tm_json_finite(root, 0)) {
        json_object_put(root);
        return TM_BODY_NOT_FINITE;
    }
    *out = root;
    return TM_BODY_OK;
}
