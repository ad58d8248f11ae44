/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tm_auth.c -- the request's Bearer credential, and logging in.  Signing
 * and checking tokens are tm_jwt.c's (the one file that calls libjwt;
 * checking is pure, so it is fuzzed).
 */
#include "mod_timing.h"
#include "tm_auth.h"
#include "tm_db.h"
#include "tm_json.h"
#include "tm_ratelimit.h"
#include "tm_users.h"
#include "tm_time.h"
#include "tm_valid.h"

#include "apr_md5.h"
#include "apr_strings.h"
#include "http_protocol.h"

#include <string.h>

APLOG_USE_MODULE(timing);

/* Failed logins allowed in 15 minutes: 10 per account (a guesser
 * of one password), 50 per address (a shop's shared NAT). */
#define TM_LOGIN_ACCOUNT_LIMIT  10
#define TM_LOGIN_ADDRESS_LIMIT  50
#define TM_LOGIN_WINDOW         (15 * 60)

/* Checked when the e-mail is unknown, so that answer takes as long as a
 * wrong password (a bcrypt hash of random bytes, cost 10 like real ones). */
static const char dummy_hash[] =
    "$2y$10$YmIq3l95L28vpdxWnjU81.F3Zb1eHzn5aYHxv.a2sacL48xyuIKKe";

tm_cred tm_auth_bearer(request_rec *r, const tm_srv_conf *conf,
                       tm_identity **who)
{
    const char *auth = apr_table_get(r->headers_in, "Authorization");
    const char *why = NULL, *token;
    tm_cred result;

    if (!auth) {
        return TM_CRED_NONE;
    }
    if (strncasecmp(auth, "Bearer ", 7) != 0) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, TMLOGNO(00201)
                      "Authorization is not a Bearer credential");
        return TM_CRED_INVALID;
    }
    for (token = auth + 7; *token == ' '; token++)
        ;
    result = tm_auth_check_token(r->pool, conf, token, who, &why);
    if (result != TM_CRED_OK) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, TMLOGNO(00202)
                      "token refused: %s", why);
    }
    return result;
}

int tm_auth_login(tm_ctx *c)
{
    request_rec *r = c->r;
    json_object *body = tm_json_body_object(r, c->body, c->body_len);
    json_object *user = NULL, *data;
    const char *email, *password, *hash = dummy_hash, *args[1];
    const char *user_id = NULL, *role = NULL, *name = NULL, *token;
    const char *stored_email = NULL;
    unsigned long version = 0;
    apr_dbd_results_t *res;
    apr_dbd_row_t *row;
    apr_time_t expires;
    char iso[TM_ISO_LEN], *account;
    const char *address, *account_try = NULL, *address_try = NULL;
    const char *login_try = NULL;
    int disabled = 0, retry = 1;
    tm_problems pr;
    ap_dbd_t *dbd;
    apr_status_t rv;

    if (!body) {
        return OK;
    }
    tm_problems_init(&pr, r->pool);
    email = tm_valid_text(&pr, body, "email", "email", &tm_rule_email, 1);
    /* Any length up to the maximum: a too-short password is just wrong. */
    password = tm_valid_text(&pr, body, "password", "password",
                             &(tm_text_rule){ 1, 128, 0, 0 }, 1);
    if (pr.list->nelts) {
        return tm_fail_problems(r, &pr);
    }
    dbd = tm_db_acquire(r);
    if (!dbd) {
        return tm_fail_db(r);
    }
    /* A good login costs a bcrypt like a bad one: it is taken from the
     * address's logins before the password is checked, and given back if
     * the password was wrong (failures have their own buckets below). */
    if (tm_rate_address_take(r, dbd, "logins", c->conf->login_rate_limit,
                             TM_LOGIN_RATE_WINDOW, "Too many logins from "
                             "this address; try again shortly.",
                             &login_try) != APR_SUCCESS) {
        return OK;
    }
    /* The account first: addresses are stored lower-cased and the query
     * lower-cases what is typed ("Admin@" finds "admin@", "àdmin@" does
     * not), so the account's limit is counted under its stored address,
     * one bucket however the address is typed. */
    args[0] = email;
    if (tm_db_select(r, dbd, TM_Q_USER_BY_EMAIL, &res, 1, args)
        != APR_SUCCESS) {
        return tm_fail_db(r);
    }
    while (tm_db_next(r, dbd, res, &row)) {
        user = tm_user_json(dbd, row);
        tm_json_put_cleanup(r->pool, user);
        user_id = apr_pstrdup(r->pool, tm_db_col(dbd, row, 0));
        name = apr_pstrdup(r->pool, tm_db_col(dbd, row, 1));
        stored_email = apr_pstrdup(r->pool, tm_db_col(dbd, row, 2));
        hash = apr_pstrdup(r->pool, tm_db_col(dbd, row, 3));
        role = apr_pstrdup(r->pool, tm_db_col(dbd, row, 4));
        disabled = tm_db_col(dbd, row, 5)[0] == '1';
        if (!tm_parse_version(tm_db_col(dbd, row, 7), &version)) {
            disabled = 1;       /* cannot happen: an UNSIGNED column */
        }
    }
    account = apr_pstrcat(r->pool, "login:account:",
                          stored_email ? stored_email : email, NULL);
    ap_str_tolower(account);
    address = tm_rate_address(r, "login");
    /* Every attempt is taken before the password is checked, so a burst
     * cannot slip more guesses through than the limit; while limited,
     * even the right password gets 429. */
    rv = tm_rate_take(r, dbd, account, TM_LOGIN_ACCOUNT_LIMIT,
                      TM_LOGIN_WINDOW, &retry, &account_try);
    if (rv == APR_SUCCESS) {
        rv = tm_rate_take(r, dbd, address, TM_LOGIN_ADDRESS_LIMIT,
                          TM_LOGIN_WINDOW, &retry, &address_try);
        if (rv != APR_SUCCESS) {
            tm_rate_forget(r, dbd, account_try);
        }
    }
    if (rv != APR_SUCCESS) {
        tm_rate_forget(r, dbd, login_try);
    }
    if (rv == APR_EAGAIN) {
        return tm_fail_rate_limited(r, retry, "Too many failed logins; "
                                    "try again later.");
    }
    if (rv != APR_SUCCESS) {
        return tm_fail_db(r);
    }
    /* The same answer, after the same work, for an unknown address, a
     * wrong password and a disabled account. */
    if (apr_password_validate(password, hash) != APR_SUCCESS || !user
        || disabled) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, TMLOGNO(00203)
                      "login refused for %s", user ? "a known account"
                                                  : "an unknown address");
        /* The failures taken stay; it was no login. */
        tm_rate_forget(r, dbd, login_try);
        return tm_fail(r, HTTP_UNAUTHORIZED, "invalid_credentials",
                       "The e-mail address or password is wrong.");
    }
    /* A good login clears the account's failures; for the address it
     * only was not one. */
    tm_rate_clear(r, dbd, account);
    tm_rate_forget(r, dbd, address_try);
    token = tm_auth_issue(r->pool, c->conf, user_id, role, name, version,
                          &expires);
    if (!token) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, TMLOGNO(00204)
                      "libjwt could not sign a token");
        return tm_fail(r, HTTP_SERVICE_UNAVAILABLE, "unavailable",
                       "A token could not be issued; try again.");
    }
    tm_time_iso_from_usec(expires, iso);
    data = json_object_new_object();
    json_object_object_add(data, "user", json_object_get(user));
    json_object_object_add(data, "token", json_object_new_string(token));
    json_object_object_add(data, "expires_at", json_object_new_string(iso));
    return tm_send(r, HTTP_OK, data, NULL);
}
