/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tm_valid.c -- validation of what clients send.
 *
 * Pure functions over json-c objects and APR pools: no request, no
 * database.  Text is trimmed, measured in characters, and refused when it
 * holds control characters (tab and newline are allowed in notes only).
 */
#include <stdlib.h>
#include <string.h>

#include "apr_strings.h"
#include "tm_valid.h"

const tm_text_rule tm_rule_name = { 1, 100, 0, 0 };
const tm_text_rule tm_rule_email = { 1, 254, 0, 1 };
const tm_text_rule tm_rule_phone = { 1, 30, 0, 1 };
const tm_text_rule tm_rule_order_note = { 1, 500, 1, 1 };
const tm_text_rule tm_rule_item_note = { 1, 200, 1, 1 };
const tm_text_rule tm_rule_password = { 8, 128, 0, 0 };

int tm_utf8_valid(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;

    while (i < len) {
        unsigned char c = s[i];
        size_t need;
        unsigned long cp, min;

        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            need = 1; cp = c & 0x1F; min = 0x80;
        }
        else if (c >= 0xE0 && c <= 0xEF) {
            need = 2; cp = c & 0x0F; min = 0x800;
        }
        else if (c >= 0xF0 && c <= 0xF4) {
            need = 3; cp = c & 0x07; min = 0x10000;
        }
        else {
            return 0;
        }
        if (len - i <= need) {
            return 0;
        }
        for (size_t k = 1; k <= need; k++) {
            if ((s[i + k] & 0xC0) != 0x80) {
                return 0;
            }
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
            return 0;
        }
        i += need + 1;
    }
    return 1;
}

int tm_b64url_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
           || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

size_t tm_utf8_length(const char *s)
{
    size_t n = 0;

    for (; *s; s++) {
        if (((unsigned char)*s & 0xC0) != 0x80) {
            n++;
        }
    }
    return n;
}

int tm_parse_id(const char *s, unsigned long *id)
{
    unsigned long long v = 0;
    size_t n = 0;

    if (!s || s[0] < '1' || s[0] > '9') {
        return 0;
    }
    for (; s[n]; n++) {
        if (s[n] < '0' || s[n] > '9' || n >= 10) {
            return 0;
        }
        v = v * 10 + (unsigned)(s[n] - '0');
    }
    if (v > 4294967295ULL) {
        return 0;
    }
    *id = (unsigned long)v;
    return 1;
}

int tm_parse_version(const char *s, unsigned long *v)
{
    if (s && s[0] == '0' && s[1] == '\0') {
        *v = 0;
        return 1;
    }
    return tm_parse_id(s, v);
}

void tm_problems_init(tm_problems *pr, apr_pool_t *p)
{
    pr->pool = p;
    pr->list = apr_array_make(p, 4, sizeof(tm_problem));
    pr->bad_utf8 = 0;
}

void tm_problem_add(tm_problems *pr, const char *field, const char *message)
{
    tm_problem *problem = apr_array_push(pr->list);

    problem->field = field;
    problem->message = message;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'
           || c == '\v';
}

/* A control character other than what the rule allows (C0, DEL, and the
 * C1 range U+0080..U+009F, which is 0xC2 0x80..0x9F in UTF-8). */
static int has_control(const char *s, int multiline)
{
    const unsigned char *u = (const unsigned char *)s;

    for (; *u; u++) {
        if ((*u < 0x20 && !(multiline && (*u == '\t' || *u == '\n')))
            || *u == 0x7F || (*u == 0xC2 && u[1] >= 0x80 && u[1] <= 0x9F)) {
            return 1;
        }
    }
    return 0;
}

const char *tm_valid_text(tm_problems *pr, json_object *obj, const char *key,
                          const char *field, const tm_text_rule *rule,
                          int required)
{
    json_object *v = NULL;
    const char *s, *end;
    size_t len, chars;
    char *out;

    if (!obj || !json_object_object_get_ex(obj, key, &v)
        || (v == NULL && rule->nullable)) {
        if (required) {
            tm_problem_add(pr, field, "is required");
        }
        return NULL;
    }
    if (v == NULL) {
        tm_problem_add(pr, field, required ? "is required"
                                           : "must not be null");
        return NULL;
    }
    if (!json_object_is_type(v, json_type_string)) {
        tm_problem_add(pr, field, "must be a string");
        return NULL;
    }
    s = json_object_get_string(v);
    len = (size_t)json_object_get_string_len(v);
    /* json-c keeps a \u0000 escape inside the string: a length longer than
     * strlen means an embedded NUL. */
    if (!tm_utf8_valid(s, len)) {
        pr->bad_utf8 = 1;
        tm_problem_add(pr, field, "is not valid UTF-8");
        return NULL;
    }
    if (strlen(s) != len) {
        tm_problem_add(pr, field, "must not contain control characters");
        return NULL;
    }
    end = s + len;
    while (s < end && is_space(*s)) {
        s++;
    }
    while (end > s && is_space(end[-1])) {
        end--;
    }
    out = apr_pstrmemdup(pr->pool, s, (apr_size_t)(end - s));
    if (has_control(out, rule->multiline)) {
        tm_problem_add(pr, field, "must not contain control characters");
        return NULL;
    }
    chars = tm_utf8_length(out);
    if (chars == 0 && !required && rule->nullable) {
        return NULL;            /* an empty optional field is no value */
    }
    if (chars < rule->min || chars > rule->max) {
        tm_problem_add(pr, field, rule->min > 1
            ? apr_psprintf(pr->pool, "must be %lu to %lu characters",
                           (unsigned long)rule->min, (unsigned long)rule->max)
            : chars == 0 ? "must not be empty"
            : apr_psprintf(pr->pool, "must be at most %lu characters",
                           (unsigned long)rule->max));
        return NULL;
    }
    return out;
}

const char *tm_json_plain_string(json_object *v)
{
    const char *s;

    if (!v || !json_object_is_type(v, json_type_string)) {
        return NULL;
    }
    s = json_object_get_string(v);
    return strlen(s) == (size_t)json_object_get_string_len(v) ? s : NULL;
}

int tm_valid_email(const char *s)
{
    const char *at = strchr(s, '@');
    const char *p;

    if (!at || at == s || strchr(at + 1, '@') || !at[1]) {
        return 0;
    }
    for (p = s; *p; p++) {
        if (is_space(*p)) {
            return 0;
        }
    }
    p = strrchr(at + 1, '.');
    return p && p > at + 1 && p[1] != '\0';
}

int tm_valid_phone(const char *s)
{
    int digits = 0;

    for (; *s; s++) {
        if (*s >= '0' && *s <= '9') {
            digits++;
        }
        else if (!strchr(" +-()", *s)) {
            return 0;
        }
    }
    return digits > 0;
}

int tm_valid_price(tm_problems *pr, json_object *obj, const char *key,
                   int required, apr_int64_t *minor)
{
    json_object *v;
    double d, cents;

    if (!json_object_object_get_ex(obj, key, &v)) {
        if (required) {
            tm_problem_add(pr, key, "is required");
        }
        return 0;
    }
    if (json_object_is_type(v, json_type_int)) {
        int64_t n = json_object_get_int64(v);

        if (n < 0 || n > 1000000) {
            tm_problem_add(pr, key, "must be from 0 to 1000000");
            return 0;
        }
        *minor = n * 100;
        return 1;
    }
    if (!json_object_is_type(v, json_type_double)) {
        tm_problem_add(pr, key, "must be a number");
        return 0;
    }
    d = json_object_get_double(v);
    cents = d * 100.0;
    /* Two decimals at most: 12.345 is refused, 0.1 + 0.2 style noise in
     * the last bits is not. */
    if (!(d >= 0.0 && d <= 1000000.0)) {
        tm_problem_add(pr, key, "must be from 0 to 1000000");
        return 0;
    }
    if (cents - (double)(int64_t)(cents + 0.5) > 1e-6
        || (double)(int64_t)(cents + 0.5) - cents > 1e-6) {
        tm_problem_add(pr, key, "must have at most two decimals");
        return 0;
    }
    *minor = (apr_int64_t)(cents + 0.5);
    return 1;
}

int tm_valid_bool(tm_problems *pr, json_object *obj, const char *key)
{
    json_object *v;

    if (!json_object_object_get_ex(obj, key, &v)) {
        return -1;
    }
    if (!json_object_is_type(v, json_type_boolean)) {
        tm_problem_add(pr, key, "must be true or false");
        return -2;
    }
    return json_object_get_boolean(v) ? 1 : 0;
}

int tm_valid_date(const char *s)
{
    static const int days[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30,
                                31 };
    int y, m, d, i;

    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-') {
        return 0;
    }
    for (i = 0; i < 10; i++) {
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9')) {
            return 0;
        }
    }
    y = atoi(s);
    m = atoi(s + 5);
    d = atoi(s + 8);
    if (y < 2000 || y > 2999 || m < 1 || m > 12 || d < 1
        || d > days[m - 1]) {
        return 0;
    }
    return m != 2 || d < 29 || (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0));
}

/* An integer member in [min, max], in whatever form JSON writes it: 2,
 * 2.0, 2e0 and 20e-1 are all 2 (json-c makes the last three doubles).  A
 * fraction is no integer; a number too large for the field (1e20, or
 * 1e400, which is infinite as a double) is outside its range, fraction or
 * not.  Records a problem otherwise. */
static int valid_int(tm_problems *pr, json_object *obj, const char *key,
                     const char *field, long min, long max, long *out)
{
    json_object *v;
    int64_t n;
    int in_range;

    if (!json_object_object_get_ex(obj, key, &v) || v == NULL) {
        tm_problem_add(pr, field, "is required");
        return 0;
    }
    if (json_object_is_type(v, json_type_double)) {
        double d = json_object_get_double(v);

        /* The range first, as a double: converting 1e20 (or infinity) to
         * an integer is undefined. */
        in_range = d >= (double)min && d <= (double)max;
        n = in_range ? (int64_t)d : 0;
        if (in_range && (double)n != d) {
            tm_problem_add(pr, field, "must be an integer");
            return 0;
        }
    }
    else if (json_object_is_type(v, json_type_int)) {
        n = json_object_get_int64(v);
        in_range = n >= min && n <= max;
    }
    else {
        tm_problem_add(pr, field, "must be an integer");
        return 0;
    }
    if (!in_range) {
        tm_problem_add(pr, field, apr_psprintf(pr->pool,
                                               "must be from %ld to %ld",
                                               min, max));
        return 0;
    }
    *out = (long)n;
    return 1;
}

static void valid_line(tm_problems *pr, json_object *item, int i,
                       tm_order_line *line)
{
    const char *at = apr_psprintf(pr->pool, "items[%d]", i);
    long v;

    if (!json_object_is_type(item, json_type_object)) {
        tm_problem_add(pr, at, "must be an object");
        return;
    }
    if (valid_int(pr, item, "menu_id",
                  apr_pstrcat(pr->pool, at, ".menu_id", NULL), 1,
                  4294967295L, &v)) {
        line->menu_id = (unsigned long)v;
    }
    if (valid_int(pr, item, "quantity",
                  apr_pstrcat(pr->pool, at, ".quantity", NULL), 1,
                  TM_QUANTITY_MAX, &v)) {
        line->quantity = (int)v;
    }
    line->note = tm_valid_text(pr, item, "note",
                               apr_pstrcat(pr->pool, at, ".note", NULL),
                               &tm_rule_item_note, 0);
}

void tm_valid_order(tm_problems *pr, json_object *body, tm_order_input *in)
{
    json_object *customer = NULL, *items = NULL;
    size_t n, i;

    memset(in, 0, sizeof *in);
    if (!json_object_is_type(body, json_type_object)) {
        tm_problem_add(pr, "", "the body must be a JSON object");
        return;
    }
    if (!json_object_object_get_ex(body, "customer_info", &customer)
        || !json_object_is_type(customer, json_type_object)) {
        tm_problem_add(pr, "customer_info", "is required: an object with "
                       "name, and phone or email if you like");
    }
    else {
        in->name = tm_valid_text(pr, customer, "name", "customer_info.name",
                                 &tm_rule_name, 1);
        in->phone = tm_valid_text(pr, customer, "phone",
                                  "customer_info.phone", &tm_rule_phone, 0);
        if (in->phone && !tm_valid_phone(in->phone)) {
            tm_problem_add(pr, "customer_info.phone",
                           "may hold digits, spaces and + - ( ) only");
        }
        in->email = tm_valid_text(pr, customer, "email",
                                  "customer_info.email", &tm_rule_email, 0);
        if (in->email && !tm_valid_email(in->email)) {
            tm_problem_add(pr, "customer_info.email",
                           "is not an e-mail address");
        }
    }
    in->note = tm_valid_text(pr, body, "note", "note", &tm_rule_order_note, 0);

    if (!json_object_object_get_ex(body, "items", &items)
        || !json_object_is_type(items, json_type_array)) {
        tm_problem_add(pr, "items", "is required: a list of "
                       "{menu_id, quantity, note?}");
        return;
    }
    n = json_object_array_length(items);
    if (n == 0 || n > TM_ORDER_MAX_LINES) {
        tm_problem_add(pr, "items", apr_psprintf(pr->pool,
                       "must hold 1 to %d lines", TM_ORDER_MAX_LINES));
        return;
    }
    for (i = 0; i < n; i++) {
        valid_line(pr, json_object_array_get_idx(items, i), (int)i,
                   &in->lines[i]);
    }
    in->nlines = (int)n;
}
