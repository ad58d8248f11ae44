/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tm_users.c -- accounts.
 *
 * E-mail addresses are stored lower-cased (the SQL lower-cases what is
 * typed) and compared exactly, so "Boss@" is boss@'s account and "bóss@"
 * another one.  The unique key, not a prior SELECT, decides email_taken,
 * so two registrations racing for one address cannot both win.
 *
 * Every token carries its user's token version (tm_auth_issue); a change
 * that should end the tokens out there -- a new password, another role, a
 * disable -- bumps the version, so tm_users_refresh refuses the older
 * ones on REST and on upgrades, and writes a revoke row in the event
 * outbox, sent after COMMIT, so timing-eventd closes the user's sockets
 * (or, if that datagram is lost, finds the gap and has its user sessions
 * reconnect through the check again).
 */
#include "mod_timing.h"
#include "tm_users.h"
#include "tm_access.h"
#include "tm_auth.h"
#include "tm_db.h"
#include "tm_json.h"
#include "tm_notify.h"
#include "tm_ratelimit.h"
#include "tm_time.h"
#include "tm_valid.h"

#include "apr_md5.h"
#include "apr_strings.h"
#include "http_protocol.h"

APLOG_USE_MODULE(timing);

/* bcrypt's work factor: about 60 ms a hash on one core here. */
#define TM_BCRYPT_COST 10

json_object *tm_user_json(ap_dbd_t *dbd, apr_dbd_row_t *row)
{
    json_object *u = json_object_new_object();
    char iso[TM_ISO_LEN];

    json_object_object_add(u, "id", json_object_new_int64(
                               apr_atoi64(tm_db_col(dbd, row, 0))));
    json_object_object_add(u, "name",
                           json_object_new_string(tm_db_col(dbd, row, 1)));
    json_object_object_add(u, "email",
                           json_object_new_string(tm_db_col(dbd, row, 2)));
    json_object_object_add(u, "role",
                           json_object_new_string(tm_db_col(dbd, row, 4)));
    json_object_object_add(u, "disabled", json_object_new_boolean(
                               tm_db_col(dbd, row, 5)[0] == '1'));
    json_object_object_add(u, "created_at",
                           tm_time_iso_from_db(tm_db_col(dbd, row, 6), iso)
                           == 0 ? json_object_new_string(iso) : NULL);
    return u;
}

const char *tm_password_hash(apr_pool_t *p, const char *password)
{
    unsigned char salt[16];
    char *out = apr_palloc(p, 64);

    if (apr_generate_random_bytes(salt, sizeof salt) != APR_SUCCESS
        || apr_bcrypt_encode(password, TM_BCRYPT_COST, salt, sizeof salt,
                             out, 64) != APR_SUCCESS) {
        return NULL;
    }
    return out;
}

/* One user row by id, as JSON in r->pool; *role, *disabled and *version
 * filled when asked for. */
static json_object *load_user(request_rec *r, ap_dbd_t *dbd, tm_query_id q,
                              const char *id, const char **role,
                              int *disabled, unsigned long *version,
                              apr_status_t *rv)
{
    const char *args[1] = { id };
    apr_dbd_results_t *res;
    apr_dbd_row_t *row;
    json_object *user = NULL;

    *rv = tm_db_select(r, dbd, q, &res, 1, args);
    if (*rv != APR_SUCCESS) {
        return NULL;
    }
    while (tm_db_next(r, dbd, res, &row)) {
        user = tm_user_json(dbd, row);
        tm_json_put_cleanup(r->pool, user);
        if (role) {
            *role = apr_pstrdup(r->pool, tm_db_col(dbd, row, 4));
        }
        if (disabled) {
            *disabled = tm_db_col(dbd, row, 5)[0] == '1';
        }
        if (version && !tm_parse_version(tm_db_col(dbd, row, 7), version)) {
            *version = ~0UL;    /* matches no token: cannot happen */
        }
    }
    return user;
}

int tm_users_refresh(request_rec *r, ap_dbd_t *dbd, tm_identity *who)
{
    json_object *user, *name;
    const char *role = NULL;
    int disabled = 1;
    unsigned long version = 0;
    apr_status_t rv;

    if (!dbd) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    user = load_user(r, dbd, TM_Q_USER_BY_ID, who->user_id, &role, &disabled,
                     &version, &rv);
    if (rv != APR_SUCCESS) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    if (!user || disabled) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, TMLOGNO(00601)
                      "token of %s user %s refused", user ? "disabled"
                      : "unknown", who->user_id);
        return HTTP_UNAUTHORIZED;
    }
    /* Equal, not at least: a version from the future is no version of
     * this user's (a restored database, or a token not ours). */
    if (who->token_version != version) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, TMLOGNO(00602)
                      "token of user %s refused: token version %lu, the "
                      "account's is %lu", who->user_id, who->token_version,
                      version);
        return HTTP_UNAUTHORIZED;
    }
    who->role = role;
    if (json_object_object_get_ex(user, "name", &name)) {
        who->name = apr_pstrdup(r->pool, json_object_get_string(name));
    }
    return OK;
}

/* name, email, password of a body; NULL after answering 4xx. */
static json_object *account_body(tm_ctx *c, tm_problems *pr,
                                 const char **name, const char **email,
                                 const char **password)
{
    json_object *body = tm_json_body_object(c->r, c->body, c->body_len);

    if (!body) {
        return NULL;
    }
    tm_problems_init(pr, c->r->pool);
    *name = tm_valid_text(pr, body, "name", "name", &tm_rule_name, 1);
    *email = tm_valid_text(pr, body, "email", "email", &tm_rule_email, 1);
    if (*email && !tm_valid_email(*email)) {
        tm_problem_add(pr, "email", "is not an e-mail address");
    }
    *password = tm_valid_text(pr, body, "password", "password",
                              &tm_rule_password, 1);
    return body;
}

/* Inserts the account; answers the error itself and returns NULL, or
 * returns the new user's JSON and token version. */
static json_object *insert_user(tm_ctx *c, const char *name,
                                const char *email, const char *password,
                                const char *role, unsigned long *version)
{
    request_rec *r = c->r;
    ap_dbd_t *dbd = tm_db_acquire(r);
    const char *args[4], *hash, *id;
    json_object *user;
    apr_status_t rv;

    if (!dbd) {
        tm_fail_db(r);
        return NULL;
    }
    hash = tm_password_hash(r->pool, password);
    if (!hash) {
        tm_fail(r, HTTP_SERVICE_UNAVAILABLE, "unavailable",
                "No random bytes for a password salt; try again.");
        return NULL;
    }
    args[0] = name;
    args[1] = email;
    args[2] = hash;
    args[3] = role;
    rv = tm_db_exec(r, dbd, TM_Q_USER_INSERT, NULL, 4, args);
    if (rv == APR_EEXIST) {
        tm_fail(r, HTTP_CONFLICT, "email_taken",
                "An account with this e-mail address exists.");
        return NULL;
    }
    if (rv != APR_SUCCESS
        || !(id = tm_db_value(r, dbd, TM_Q_LAST_ID, 0, NULL, &rv))
        || !(user = load_user(r, dbd, TM_Q_USER_BY_ID, id, NULL, NULL,
                              version, &rv))) {
        tm_fail_db(r);
        return NULL;
    }
    return user;
}

int tm_users_register(tm_ctx *c)
{
    const char *name = NULL, *email = NULL, *password = NULL, *token;
    const char *attempt;
    json_object *user, *data, *id;
    ap_dbd_t *dbd;
    apr_time_t expires;
    char iso[TM_ISO_LEN];
    unsigned long version = 0;
    tm_problems pr;

    if (!account_body(c, &pr, &name, &email, &password)) {
        return OK;
    }
    if (pr.list->nelts) {
        return tm_fail_problems(c->r, &pr);
    }
    /* Before the bcrypt; kept whatever follows (an e-mail address taken
     * cost the hash too). */
    dbd = tm_db_acquire(c->r);
    if (!dbd) {
        return tm_fail_db(c->r);
    }
    if (tm_rate_address_take(c->r, dbd, "register",
                             c->conf->register_rate_limit,
                             TM_REGISTER_RATE_WINDOW, "Too many accounts "
                             "from this address; try again later.",
                             &attempt) != APR_SUCCESS) {
        return OK;
    }
    user = insert_user(c, name, email, password, "customer", &version);
    if (!user) {
        return OK;
    }
    json_object_object_get_ex(user, "id", &id);
    token = tm_auth_issue(c->r->pool, c->conf, json_object_get_string(id),
                          "customer", name, version, &expires);
    if (!token) {
        return tm_fail(c->r, HTTP_SERVICE_UNAVAILABLE, "unavailable",
                       "A token could not be issued; log in instead.");
    }
    tm_time_iso_from_usec(expires, iso);
    data = json_object_new_object();
    json_object_object_add(data, "user", json_object_get(user));
    json_object_object_add(data, "token", json_object_new_string(token));
    json_object_object_add(data, "expires_at", json_object_new_string(iso));
    return tm_send(c->r, HTTP_CREATED, data, NULL);
}

int tm_users_me(tm_ctx *c)
{
    ap_dbd_t *dbd = tm_db_acquire(c->r);
    json_object *user, *data;
    apr_status_t rv;

    if (!dbd) {
        return tm_fail_db(c->r);
    }
    user = load_user(c->r, dbd, TM_Q_USER_BY_ID, c->who->user_id, NULL, NULL,
                     NULL, &rv);
    if (!user) {
        return tm_fail_db(c->r);
    }
    data = json_object_new_object();
    json_object_object_add(data, "user", json_object_get(user));
    return tm_send(c->r, HTTP_OK, data, NULL);
}

int tm_users_list(tm_ctx *c)
{
    request_rec *r = c->r;
    ap_dbd_t *dbd = tm_db_acquire(r);
    apr_dbd_results_t *res;
    apr_dbd_row_t *row;
    json_object *list;

    if (!dbd || tm_db_select(r, dbd, TM_Q_STAFF_LIST, &res, 0, NULL)
                != APR_SUCCESS) {
        return tm_fail_db(r);
    }
    list = json_object_new_array();
    while (tm_db_next(r, dbd, res, &row)) {
        json_object_array_add(list, tm_user_json(dbd, row));
    }
    return tm_send_list(r, list);
}

static const char *staff_role(tm_problems *pr, json_object *body,
                              int required)
{
    json_object *v;
    const char *role;

    if (!json_object_object_get_ex(body, "role", &v)) {
        if (required) {
            tm_problem_add(pr, "role", "is required: staff or admin");
        }
        return NULL;
    }
    role = tm_json_plain_string(v);
    if (!tm_role_is_staff(role)) {
        tm_problem_add(pr, "role", "must be staff or admin");
        return NULL;
    }
    return role;
}

int tm_users_create(tm_ctx *c)
{
    const char *name = NULL, *email = NULL, *password = NULL, *role;
    json_object *body, *user, *data;
    unsigned long version;
    tm_problems pr;

    body = account_body(c, &pr, &name, &email, &password);
    if (!body) {
        return OK;
    }
    role = staff_role(&pr, body, 1);
    if (pr.list->nelts) {
        return tm_fail_problems(c->r, &pr);
    }
    user = insert_user(c, name, email, password, role, &version);
    if (!user) {
        return OK;
    }
    data = json_object_new_object();
    json_object_object_add(data, "user", json_object_get(user));
    return tm_send(c->r, HTTP_CREATED, data, NULL);
}

/* Inside the caller's transaction: the outbox row "revoke user id", its
 * event id and the epoch, for the datagram sent after COMMIT. */
static apr_status_t write_revoke(request_rec *r, ap_dbd_t *dbd,
                                 const char *user_id, apr_int64_t *event_id,
                                 const char **epoch)
{
    json_object *msg = tm_json_object(r->pool);
    const char *args[1], *id;
    apr_status_t rv;

    json_object_object_add(msg, "user_id", json_object_new_string(user_id));
    args[0] = json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN);
    rv = tm_db_exec(r, dbd, TM_Q_REVOKE_INSERT, NULL, 1, args);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    id = tm_db_value(r, dbd, TM_Q_LAST_ID, 0, NULL, &rv);
    if (!id) {
        return rv != APR_SUCCESS ? rv : APR_EGENERAL;
    }
    *event_id = apr_atoi64(id);
    *epoch = tm_db_value(r, dbd, TM_Q_EPOCH_GET, 0, NULL, &rv);
    if (!*epoch) {
        return rv != APR_SUCCESS ? rv : APR_EGENERAL;
    }
    return APR_SUCCESS;
}

int tm_users_update(tm_ctx *c)
{
    request_rec *r = c->r;
    json_object *body = tm_json_body_object(r, c->body, c->body_len);
    json_object *user, *v, *data;
    const char *name, *role, *password, *hash = NULL, *args[6];
    const char *cur_role = NULL, *others, *epoch = NULL;
    int disabled = -1, cur_disabled = 0, revoke;
    apr_int64_t event_id = 0;
    tm_problems pr;
    ap_dbd_t *dbd;
    apr_status_t rv;
    tm_txn *txn;

    if (!body) {
        return OK;
    }
    tm_problems_init(&pr, r->pool);
    name = tm_valid_text(&pr, body, "name", "name", &tm_rule_name, 0);
    role = staff_role(&pr, body, 0);
    password = tm_valid_text(&pr, body, "password", "password",
                             &tm_rule_password, 0);
    if (json_object_object_get_ex(body, "disabled", &v)) {
        if (json_object_is_type(v, json_type_boolean)) {
            disabled = json_object_get_boolean(v);
        }
        else {
            tm_problem_add(&pr, "disabled", "must be true or false");
        }
    }
    if (!pr.list->nelts && !name && !role && !password && disabled == -1) {
        tm_problem_add(&pr, "", "give at least one of name, role, disabled "
                       "and password");
    }
    if (pr.list->nelts) {
        return tm_fail_problems(r, &pr);
    }
    if (password && !(hash = tm_password_hash(r->pool, password))) {
        return tm_fail(r, HTTP_SERVICE_UNAVAILABLE, "unavailable",
                       "No random bytes for a password salt; try again.");
    }

    dbd = tm_db_acquire(r);
    if (!dbd || tm_db_begin(r, dbd, &txn) != APR_SUCCESS) {
        return tm_fail_db(r);
    }
    user = load_user(r, dbd, TM_Q_USER_FOR_UPDATE, c->params[0], &cur_role,
                     &cur_disabled, NULL, &rv);
    if (rv != APR_SUCCESS) {
        tm_db_rollback(txn);
        return tm_fail_db(r);
    }
    if (!user || !strcmp(cur_role, "customer")) {
        tm_db_rollback(txn);
        return tm_fail(r, HTTP_NOT_FOUND, "not_found", "No such staff member.");
    }
    /* Would this leave no enabled admin? */
    if (!strcmp(cur_role, "admin") && !cur_disabled
        && ((role && strcmp(role, "admin")) || disabled == 1)) {
        args[0] = c->params[0];
        others = tm_db_value(r, dbd, TM_Q_OTHER_ADMINS, 1, args, &rv);
        if (!others) {
            tm_db_rollback(txn);
            return tm_fail_db(r);
        }
        if (!strcmp(others, "0")) {
            tm_db_rollback(txn);
            return tm_fail(r, HTTP_CONFLICT, "last_admin",
                           "This is the last enabled admin: make another "
                           "admin first.");
        }
    }
    /* What a token vouches for changes: every token issued before is
     * refused from now on, and the user's sockets are ended.  A new name
     * changes nothing a token says (the name is read afresh). */
    revoke = hash || (role && strcmp(role, cur_role))
             || (disabled == 1 && !cur_disabled);
    json_object_object_get_ex(user, "name", &v);
    args[0] = name ? name : json_object_get_string(v);
    args[1] = role ? role : cur_role;
    args[2] = disabled == -1 ? (cur_disabled ? "1" : "0")
                             : (disabled ? "1" : "0");
    args[3] = hash;     /* NULL keeps the old hash */
    args[4] = revoke ? "1" : "0";
    args[5] = c->params[0];
    if (tm_db_exec(r, dbd, TM_Q_USER_UPDATE, NULL, 6, args) != APR_SUCCESS
        || (revoke && write_revoke(r, dbd, c->params[0], &event_id, &epoch)
                      != APR_SUCCESS)
        || !(user = load_user(r, dbd, TM_Q_USER_BY_ID, c->params[0], NULL,
                              NULL, NULL, &rv))
        || tm_db_commit(txn) != APR_SUCCESS) {
        tm_db_rollback(txn);
        return tm_fail_db(r);
    }
    if (revoke) {
        /* REST refuses the old tokens already (each request compares the
         * version); this ends the open sockets, and if it is lost the
         * daemon finds the revoke's id missing. */
        tm_notify_revoke(r, c->conf, epoch, event_id,
                         c->params[0]);
    }
    data = json_object_new_object();
    json_object_object_add(data, "user", json_object_get(user));
    return tm_send(r, HTTP_OK, data, NULL);
}
