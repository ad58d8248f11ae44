/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tm_orders.c -- placing an order.
 *
 * The order, its lines, its first status-history row and its newOrder
 * event are written in one transaction; only after COMMIT is the event
 * sent to timing-eventd.  Prices and totals come from the menu in integer
 * minor units; a client never sends a price.  An Idempotency-Key claims
 * its row first in the same transaction, so a retry racing the original
 * waits for it and then replays its answer.  The key itself is the scope
 * of the key: it belongs to the account that used it, or to nobody's
 * account, and to one body, whatever address sends it.
 *
 * This handler validates, prices, settles the Idempotency-Key and the
 * rate limit, and makes the tracking token; the rows themselves are
 * written by tm_order_store.c, the order object by tm_order_http.c, and
 * only the token's hash is kept (tm_access.c).
 */
#include "mod_timing.h"
#include "tm_orders.h"
#include "tm_access.h"
#include "tm_canon.h"
#include "tm_db.h"
#include "tm_json.h"
#include "tm_counters.h"
#include "tm_order_http.h"
#include "tm_order_store.h"
#include "tm_ratelimit.h"
#include "tm_valid.h"

#include "apr_encode.h"
#include "apr_hash.h"
#include "apr_lib.h"
#include "apr_strings.h"
#include "http_protocol.h"

APLOG_USE_MODULE(timing);

#define TM_TRACKING_BYTES       18          /* 24 base64url characters */
#define TM_TRACKING_COOKIE_AGE  (7 * 86400)
#define TM_IDEM_KEY_MAX         200

typedef struct menu_price {
    const char *name;
    apr_int64_t price;
    int available;
} menu_price;

/* What one placement needs beyond the validated input. */
typedef struct placement {
    tm_ctx *c;
    ap_dbd_t *dbd;
    const tm_order_input *in;
    tm_order o;
    const char *token, *idem_key, *request_hash;
    const char *idem_owner;         /* the caller's user id; NULL: none */
    const char *now, *shop_date;    /* database text */
    tm_announcement a;
} placement;

/* The menu by id, as text keys. */
static apr_hash_t *load_menu(request_rec *r, ap_dbd_t *dbd)
{
    apr_hash_t *menu = apr_hash_make(r->pool);
    apr_dbd_results_t *res;
    apr_dbd_row_t *row;

    if (tm_db_select(r, dbd, TM_Q_MENU_PRICES, &res, 0, NULL)
        != APR_SUCCESS) {
        return NULL;
    }
    while (tm_db_next(r, dbd, res, &row)) {
        menu_price *m = apr_palloc(r->pool, sizeof *m);

        m->name = apr_pstrdup(r->pool, tm_db_col(dbd, row, 1));
        m->price = apr_atoi64(tm_db_col(dbd, row, 2));
        m->available = tm_db_col(dbd, row, 3)[0] == '1';
        apr_hash_set(menu, apr_pstrdup(r->pool, tm_db_col(dbd, row, 0)),
                     APR_HASH_KEY_STRING, m);
    }
    return menu;
}

/* A fresh tracking token: base64url of random bytes, without padding
 * (18 bytes need none), so it travels in a URL or a cookie as it is. */
static const char *tracking_token(apr_pool_t *p)
{
    unsigned char raw[TM_TRACKING_BYTES];

    if (apr_generate_random_bytes(raw, sizeof raw) != APR_SUCCESS) {
        return NULL;
    }
    return apr_pencode_base64_binary(p, raw, sizeof raw,
                                     APR_ENCODE_BASE64URL
                                     | APR_ENCODE_NOPADDING, NULL);
}

/* Everything inside the transaction: the Idempotency-Key's claim first,
 * then the order's rows.  Returns OK, HTTP_SEE_OTHER (the key is taken:
 * replay it) or HTTP_SERVICE_UNAVAILABLE. */
static int write_order(placement *pl)
{
    request_rec *r = pl->c->r;
    apr_status_t rv;

    if (pl->idem_key) {
        const char *args[3] = { pl->idem_key, pl->idem_owner,
                                pl->request_hash };

        rv = tm_db_exec(r, pl->dbd, TM_Q_IDEM_CLAIM, NULL, 3, args);
        if (rv == APR_EEXIST) {
            return HTTP_SEE_OTHER;
        }
        if (rv != APR_SUCCESS) {
            return HTTP_SERVICE_UNAVAILABLE;
        }
    }
    return tm_order_insert(r, pl->dbd, &pl->o,
                           tm_tracking_hash(r->pool, pl->token), pl->now,
                           pl->shop_date, &pl->a) == APR_SUCCESS
           ? OK : HTTP_SERVICE_UNAVAILABLE;
}

/* The cookie is Secure when the request came over HTTPS as Apache sees
 * it: mod_ssl, or "ServerName https://..." behind a proxy that ends TLS
 * (ap_http_scheme); never because of a header the client sent.  Over
 * plain HTTP a Secure cookie would not come back at all. */
static void set_order_headers(request_rec *r, apr_int64_t id,
                              const char *token)
{
    int https = !strcmp(ap_http_scheme(r), "https");

    apr_table_setn(r->headers_out, "Location",
                   apr_psprintf(r->pool, "/api/orders/%" APR_INT64_T_FMT
                                "/status", id));
    apr_table_addn(r->err_headers_out, "Set-Cookie",
                   apr_psprintf(r->pool, TM_TRACKING_COOKIE "%"
                                APR_INT64_T_FMT "=%s; Path=/; Max-Age=%d; HttpOnly; "
                                "SameSite=Lax%s", id, token,
                                TM_TRACKING_COOKIE_AGE,
                                https ? "; Secure" : ""));
}

/* When the Idempotency-Key has a finished answer: that answer again (with
 * the tracking cookie, for a browser that retries), or 422 when it came
 * with another body or from another account (an anonymous key is no
 * account's).  DECLINED when the key is new. */
static int known_key(placement *pl)
{
    request_rec *r = pl->c->r;
    const char *args[1] = { pl->idem_key };
    const char *hash = NULL, *response = NULL, *owner = NULL;
    apr_dbd_results_t *res;
    apr_dbd_row_t *row;
    json_object *answer, *data, *id, *token;
    int status = 0;

    if (tm_db_select(r, pl->dbd, TM_Q_IDEM_GET, &res, 1, args)
        != APR_SUCCESS) {
        return tm_fail_db(r);
    }
    while (tm_db_next(r, pl->dbd, res, &row)) {
        hash = apr_pstrdup(r->pool, tm_db_col(pl->dbd, row, 0));
        status = atoi(tm_db_col(pl->dbd, row, 1));
        response = apr_pstrdup(r->pool, tm_db_col(pl->dbd, row, 2));
        owner = tm_db_col(pl->dbd, row, 3);
        owner = owner ? apr_pstrdup(r->pool, owner) : NULL;
    }
    if (!hash || status == 0) {
        return DECLINED;
    }
    /* One answer for the two cases, so a refusal does not tell whether
     * someone else holds the key. */
    if (strcmp(hash, pl->request_hash)
        || (owner ? !pl->idem_owner || strcmp(owner, pl->idem_owner)
                  : pl->idem_owner != NULL)) {
        return tm_fail(r, HTTP_UNPROCESSABLE_ENTITY, "idempotency_key_reused",
                       "This Idempotency-Key was used with another body or "
                       "by another account.");
    }
    answer = json_tokener_parse(response);
    if (answer) {
        tm_json_put_cleanup(r->pool, answer);
        if (json_object_object_get_ex(answer, "data", &data)
            && json_object_object_get_ex(data, "id", &id)
            && json_object_object_get_ex(data, "tracking_token", &token)) {
            set_order_headers(r, json_object_get_int64(id),
                              json_object_get_string(token));
        }
    }
    apr_table_setn(r->headers_out, "Idempotent-Replayed", "true");
    return tm_send_text(r, status, response);
}

/* The Idempotency-Key header: printable ASCII.  The key itself is its
 * scope, filed as sent: anonymous clients make it unguessable, and a key
 * that another account used is refused, never answered with its order.
 * The body is fingerprinted as a JSON value, not as bytes. */
static int idempotency_key(placement *pl, json_object *body, tm_problems *pr)
{
    request_rec *r = pl->c->r;
    const char *key = apr_table_get(r->headers_in, "Idempotency-Key");
    const char *k;

    if (!key) {
        return 1;
    }
    for (k = key; *k; k++) {
        if (*k < 0x21 || *k > 0x7E) {
            break;
        }
    }
    if (*k || k == key || k - key > TM_IDEM_KEY_MAX) {
        tm_problem_add(pr, "Idempotency-Key", "must be 1 to 200 printable "
                       "ASCII characters");
        return 0;
    }
    pl->idem_key = key;
    pl->idem_owner = pl->c->who ? pl->c->who->user_id : NULL;
    pl->request_hash = tm_canon_sha256_hex(r->pool, body);
    return 1;
}

/* The key was claimed by a request that finished meanwhile: replay it. */
static int replay(placement *pl)
{
    int status = known_key(pl);

    if (status != DECLINED) {
        return status;
    }
    /* Gone (expired meanwhile) or its first request rolled back. */
    return tm_fail(pl->c->r, HTTP_CONFLICT, "idempotency_conflict",
                   "A request with this Idempotency-Key did not finish; "
                   "send it again.");
}

/* Prices and names from the menu; problems for unknown or unavailable
 * items. */
static int price_lines(placement *pl, apr_hash_t *menu, tm_problems *pr)
{
    request_rec *r = pl->c->r;
    const tm_order_input *in = pl->in;
    int i;

    pl->o.items = apr_pcalloc(r->pool, sizeof(tm_item) * in->nlines);
    pl->o.nitems = in->nlines;
    for (i = 0; i < in->nlines; i++) {
        const tm_order_line *l = &in->lines[i];
        menu_price *m = apr_hash_get(menu, apr_psprintf(r->pool, "%lu",
                                                        l->menu_id),
                                     APR_HASH_KEY_STRING);

        if (!m || !m->available) {
            tm_problem_add(pr, apr_psprintf(r->pool, "items[%d].menu_id", i),
                           m ? "is not available now" : "is not on the menu");
            continue;
        }
        pl->o.items[i] = (tm_item){ 0, m->price, l->menu_id, l->quantity,
                                    m->name, l->note };
        pl->o.total += m->price * l->quantity;
    }
    return pr->list->nelts == 0;
}

/* Placement proper; returns HTTP_CREATED after answering 201, or the
 * handler's OK after answering anything else. */
static int order_in_transaction(placement *pl)
{
    request_rec *r = pl->c->r;
    tm_ctx *c = pl->c;
    json_object *answer;
    const char *text;
    tm_txn *txn;
    int status;

    status = tm_order_reserve(r, pl->dbd, &pl->o, &pl->now, &pl->shop_date,
                              &pl->a.epoch);
    if (status == HTTP_CONFLICT) {
        return tm_fail(r, HTTP_CONFLICT, "shop_closed",
                       "The shop is not taking orders right now.");
    }
    if (status != OK || tm_db_begin(r, pl->dbd, &txn) != APR_SUCCESS) {
        return tm_fail_db(r);
    }
    status = write_order(pl);
    if (status == OK) {
        answer = tm_order_json(r->pool, &pl->o, 0);
        json_object_object_add(answer, "tracking_token",
                               json_object_new_string(pl->token));
        text = tm_envelope_text(r->pool, answer);
        if (pl->idem_key) {
            const char *args[4] = { apr_psprintf(r->pool, "%" APR_INT64_T_FMT,
                                                 pl->o.id),
                                    "201", text, pl->idem_key };

            if (tm_db_exec(r, pl->dbd, TM_Q_IDEM_SAVE, NULL, 4, args)
                != APR_SUCCESS) {
                status = HTTP_SERVICE_UNAVAILABLE;
            }
        }
    }
    if (status != OK) {
        tm_db_rollback(txn);
        if (status == HTTP_SEE_OTHER) {
            return replay(pl);
        }
        return tm_fail_db(r);
    }
    if (tm_db_commit(txn) != APR_SUCCESS) {
        return tm_fail_db(r);
    }

    /* Committed: the order exists whatever happens next. */
    tm_counters_inc(TM_C_ORDERS_CREATED);
    tm_order_announce(r, c->conf, &pl->a);
    set_order_headers(r, pl->o.id, pl->token);
    tm_send_text(r, HTTP_CREATED, text);
    return HTTP_CREATED;
}

int tm_orders_create(tm_ctx *c)
{
    request_rec *r = c->r;
    json_object *body = tm_json_body(r, c->body, c->body_len);
    const char *bucket, *attempt = NULL;
    placement pl = { 0 };
    tm_order_input in;
    tm_problems pr;
    apr_hash_t *menu;
    int status, retry = 1;
    apr_status_t rv;

    if (!body) {
        return OK;
    }
    pl.c = c;
    pl.in = &in;
    tm_problems_init(&pr, r->pool);
    tm_valid_order(&pr, body, &in);
    if (!idempotency_key(&pl, body, &pr) || pr.list->nelts) {
        return tm_fail_problems(r, &pr);
    }
    if (pl.idem_key && !pl.request_hash) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, TMLOGNO(00502)
                      "SHA-256 of an order body failed (OpenSSL)");
        return tm_fail(r, HTTP_SERVICE_UNAVAILABLE, "unavailable",
                       "The request could not be fingerprinted; try again.");
    }
    pl.dbd = tm_db_acquire(r);
    if (!pl.dbd) {
        return tm_fail_db(r);
    }
    if (!(menu = load_menu(r, pl.dbd))) {
        return tm_fail_db(r);
    }
    if (!price_lines(&pl, menu, &pr)) {
        return tm_fail_problems(r, &pr);
    }
    pl.o.version = 1;
    pl.o.status = "pending";
    pl.o.name = in.name;
    pl.o.phone = in.phone;
    pl.o.email = in.email;
    pl.o.note = in.note;
    pl.o.user_id = c->who ? c->who->user_id : NULL;
    if (!(pl.token = tracking_token(r->pool))) {
        return tm_fail(r, HTTP_SERVICE_UNAVAILABLE, "unavailable",
                       "No random bytes for a tracking token; try again.");
    }

    /* A key seen before is answered before anything is taken for the new
     * order; the claim inside the transaction settles races. */
    if (pl.idem_key) {
        const char *args[2] = { pl.idem_key,
                                apr_psprintf(r->pool, "%" APR_INT64_T_FMT,
                                             c->conf->idem_retention) };

        if (tm_db_exec(r, pl.dbd, TM_Q_IDEM_EXPIRE, NULL, 2, args)
            != APR_SUCCESS) {
            return tm_fail_db(r);
        }
        status = known_key(&pl);
        if (status != DECLINED) {
            return status;
        }
    }
    /* The creation is taken from the address's allowance first (so a
     * burst cannot overshoot it) and given back if no order results. */
    if (c->conf->order_rate_limit > 0) {
        bucket = tm_rate_address(r, "orders");
        rv = tm_rate_take(r, pl.dbd, bucket, c->conf->order_rate_limit, 60,
                          &retry, &attempt);
        if (rv == APR_EAGAIN) {
            return tm_fail_rate_limited(r, retry, "Too many orders from this "
                                        "address; try again shortly.");
        }
        if (rv != APR_SUCCESS) {
            return tm_fail_db(r);
        }
    }
    if (order_in_transaction(&pl) != HTTP_CREATED) {
        tm_rate_forget(r, pl.dbd, attempt);
    }
    return OK;
}
