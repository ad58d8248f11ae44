/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tm_valid.h -- checks on what clients send, pure logic with no httpd
 * dependency so the unit tests can reach every branch.  The handlers decide
 * the status: invalid UTF-8 is a 400, a rule broken a 422.
 */
#ifndef TM_VALID_H
#define TM_VALID_H

#include <stddef.h>
#include "apr_pools.h"
#include "apr_tables.h"
#include <json.h>

/* 1 when s[0..len) is well-formed UTF-8: no overlong forms, no
 * surrogates, nothing above U+10FFFF.  The module's one UTF-8 check, for
 * request bodies and query strings alike: APR has none, and json-c's
 * (JSON_TOKENER_VALIDATE_UTF8, 0.16) takes overlong forms, surrogates and
 * code points above U+10FFFF, and looks no further than the first
 * syntax error. */
int tm_utf8_valid(const char *s, size_t len);

/* 1 when c is of base64url's alphabet (A-Z a-z 0-9 - _).  APR's decoder
 * takes '+', '/' and '=' padding too, so what must be base64url (tokens,
 * cursors) is checked with this before apr_pdecode_base64 sees it. */
int tm_b64url_char(char c);

/* 1 when s is a decimal id in 1..4294967295 with no sign, spaces or
 * leading zeros; stores it in *id. */
int tm_parse_id(const char *s, unsigned long *id);

/* 1 when s is a token version (the JWT claim tv, as JSON text, or the
 * users.token_version column): a decimal in 0..4294967295 with no sign,
 * fraction, quotes or leading zeros; stores it in *v. */
int tm_parse_version(const char *s, unsigned long *v);

/* Characters (code points) in a valid UTF-8 string. */
size_t tm_utf8_length(const char *s);

/* What a text field allows. */
typedef struct tm_text_rule {
    size_t min, max;            /* characters, after trimming */
    int multiline;              /* tab and newline allowed (notes) */
    int nullable;               /* JSON null means "none" (else a 422) */
} tm_text_rule;

/* One broken rule: the field's path ("items[0].quantity") and why. */
typedef struct tm_problem {
    const char *field;
    const char *message;
} tm_problem;

/* Problems found so far; add with tm_problem_add. */
typedef struct tm_problems {
    apr_pool_t *pool;
    apr_array_header_t *list;   /* of tm_problem */
    int bad_utf8;               /* any string was not UTF-8: a 400 */
} tm_problems;

void tm_problems_init(tm_problems *pr, apr_pool_t *p);
void tm_problem_add(tm_problems *pr, const char *field, const char *message);

/* Reads an optional or required string member `key` of obj under `rule`:
 * trimmed copy in p, or NULL when absent, null or empty-and-optional.
 * Records a problem (and returns NULL) when the value breaks the rule. */
const char *tm_valid_text(tm_problems *pr, json_object *obj, const char *key,
                          const char *field, const tm_text_rule *rule,
                          int required);

/* The text of a JSON string value, or NULL when v is not a string or
 * holds a NUL (json-c keeps a \u0000 inside; C would cut it short). */
const char *tm_json_plain_string(json_object *v);

/* Text rules of the contract. */
extern const tm_text_rule tm_rule_name, tm_rule_email, tm_rule_phone,
       tm_rule_order_note, tm_rule_item_note, tm_rule_password;

/* A syntactically plausible e-mail address: one @, no spaces, a dot in
 * the domain. */
int tm_valid_email(const char *s);
/* Digits, spaces, + - ( ) only, and at least one digit. */
int tm_valid_phone(const char *s);

/* A price member: a JSON number from 0 to 1,000,000.00 with at most two
 * decimals, as integer minor units.  1 when present and valid; 0 when
 * absent (a problem if required) or invalid (a problem). */
int tm_valid_price(tm_problems *pr, json_object *obj, const char *key,
                   int required, apr_int64_t *minor);

/* A boolean member: 1 true, 0 false, -1 absent; -2 and a problem when it
 * is not a boolean. */
int tm_valid_bool(tm_problems *pr, json_object *obj, const char *key);

/* 1 when s is a real calendar date YYYY-MM-DD (years 2000-2999). */
int tm_valid_date(const char *s);

#define TM_ORDER_MAX_LINES  50
#define TM_QUANTITY_MAX     99

typedef struct tm_order_line {
    unsigned long menu_id;
    int quantity;
    const char *note;           /* NULL when none */
} tm_order_line;

typedef struct tm_order_input {
    const char *name, *phone, *email, *note;
    tm_order_line lines[TM_ORDER_MAX_LINES];
    int nlines;
} tm_order_input;

/* Validates a POST /api/orders body.  Fills in and records every problem;
 * the menu (unknown or unavailable items) is checked by the caller. */
void tm_valid_order(tm_problems *pr, json_object *body, tm_order_input *in);

#endif /* TM_VALID_H */
