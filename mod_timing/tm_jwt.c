/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tm_jwt.c -- signing a token, and is a bearer token acceptable?  The one
 * file that calls libjwt, whose API differs from version to version.
 *
 * libjwt 1.10 verifies a signature with whatever algorithm the token's
 * own header names and has no validation helper, so the algorithm is
 * checked here before libjwt sees the token, and every claim after.
 */
#include "tm_jwt.h"
#include "tm_access.h"
#include "tm_valid.h"

#include "apr_encode.h"
#include "apr_lib.h"
#include "apr_strings.h"

#include <errno.h>
#include <json.h>
#include <jwt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TM_JWT_ALG          "HS256"
#define TM_TOKEN_MAX_LEN    4096
#define TM_CLOCK_SKEW_SEC   60
/* TimingTokenLifetime's upper bound: no token this server signs expires
 * later, and a bound keeps exp's conversion to apr_time_t from
 * overflowing. */
#define TM_TOKEN_MAX_LIFETIME_SEC   (30 * 86400)

/* The header must name exactly the configured algorithm. */
static int header_alg_ok(apr_pool_t *p, const char *token, size_t hlen)
{
    const char *text = apr_pdecode_base64(p, token, (apr_ssize_t)hlen,
                                          APR_ENCODE_BASE64URL, NULL);
    json_object *h = text ? json_tokener_parse(text) : NULL, *alg, *typ;
    int ok;

    if (!h) {
        return 0;
    }
    ok = json_object_is_type(h, json_type_object)
         && json_object_object_get_ex(h, "alg", &alg)
         && json_object_is_type(alg, json_type_string)
         && strcmp(json_object_get_string(alg), TM_JWT_ALG) == 0
         && (!json_object_object_get_ex(h, "typ", &typ)
             || (json_object_is_type(typ, json_type_string)
                 && strcasecmp(json_object_get_string(typ), "JWT") == 0));
    json_object_put(h);
    return ok;
}

static int valid_role(const char *role)
{
    return role && (tm_role_is_staff(role) || !strcmp(role, "customer"));
}

static int valid_sub(const char *sub)
{
    size_t i;

    if (!sub || !*sub || strlen(sub) > 10 || sub[0] == '0') {
        return 0;
    }
    for (i = 0; sub[i]; i++) {
        if (!apr_isdigit(sub[i])) {
            return 0;
        }
    }
    return 1;
}

static tm_cred check_claims(apr_pool_t *p, const tm_srv_conf *conf,
                            jwt_t *jwt, tm_identity **who, const char **why)
{
    long now = (long)apr_time_sec(apr_time_now());
    const char *iss = jwt_get_grant(jwt, "iss");
    const char *sub = jwt_get_grant(jwt, "sub");
    const char *role = jwt_get_grant(jwt, "role");
    const char *name = jwt_get_grant(jwt, "name");
    long exp, iat;
    unsigned long version = 0;
    char *tv;
    int tv_ok = 1;
    tm_identity *id;

    errno = 0;
    exp = jwt_get_grant_int(jwt, "exp");
    if (errno) {
        *why = "no exp claim";
        return TM_CRED_INVALID;
    }
    iat = jwt_get_grant_int(jwt, "iat");
    if (errno) {
        *why = "no iat claim";
        return TM_CRED_INVALID;
    }
    if (exp <= now) {
        *why = "token expired";
        return TM_CRED_INVALID;
    }
    if (exp > now + TM_TOKEN_MAX_LIFETIME_SEC + TM_CLOCK_SKEW_SEC) {
        *why = "exp further ahead than any token lifetime";
        return TM_CRED_INVALID;
    }
    if (iat > now + TM_CLOCK_SKEW_SEC) {
        *why = "token issued in the future";
        return TM_CRED_INVALID;
    }
    if (!iss || strcmp(iss, conf->jwt_issuer) != 0) {
        *why = "wrong issuer";
        return TM_CRED_INVALID;
    }
    if (!valid_sub(sub)) {
        *why = "bad sub claim";
        return TM_CRED_INVALID;
    }
    if (!valid_role(role)) {
        *why = "bad role claim";
        return TM_CRED_INVALID;
    }
    /* The user's token version when it was issued; whether it is still
     * theirs is for tm_users_refresh, which reads the row.  A token from
     * before versions has none and counts as the first (0).  Read as JSON
     * text: jwt_get_grant_int cannot tell "0" or 1.5 from no claim. */
    tv = jwt_get_grants_json(jwt, "tv");
    if (tv) {
        tv_ok = tm_parse_version(tv, &version);
        free(tv);
    }
    if (!tv_ok) {
        *why = "bad tv claim";
        return TM_CRED_INVALID;
    }
    id = apr_pcalloc(p, sizeof *id);
    id->user_id = apr_pstrdup(p, sub);
    id->role = apr_pstrdup(p, role);
    id->name = name ? apr_pstrdup(p, name) : NULL;
    id->expires = apr_time_from_sec(exp);
    id->token_version = version;
    *who = id;
    return TM_CRED_OK;
}

const char *tm_auth_issue(apr_pool_t *p, const tm_srv_conf *conf,
                          const char *user_id, const char *role,
                          const char *name, unsigned long token_version,
                          apr_time_t *expires)
{
    apr_time_t now = apr_time_now();
    long iat = (long)apr_time_sec(now);
    long exp = (long)apr_time_sec(now + conf->token_lifetime);
    jwt_t *jwt = NULL;
    char *text = NULL;
    const char *token = NULL;

    if (jwt_new(&jwt) == 0
        && jwt_add_grant(jwt, "sub", user_id) == 0
        && jwt_add_grant(jwt, "role", role) == 0
        && jwt_add_grant(jwt, "name", name) == 0
        && jwt_add_grant(jwt, "iss", conf->jwt_issuer) == 0
        && jwt_add_grant_int(jwt, "iat", iat) == 0
        && jwt_add_grant_int(jwt, "exp", exp) == 0
        && jwt_add_grant_int(jwt, "tv", (long)token_version) == 0
        && jwt_set_alg(jwt, JWT_ALG_HS256,
                       (const unsigned char *)conf->jwt_secret,
                       (int)conf->jwt_secret_len) == 0
        && (text = jwt_encode_str(jwt)) != NULL) {
        token = apr_pstrdup(p, text);
        *expires = apr_time_from_sec(exp);
    }
    free(text);
    jwt_free(jwt);
    return token;
}

tm_cred tm_auth_check_token(apr_pool_t *p, const tm_srv_conf *conf,
                            const char *token, tm_identity **who,
                            const char **why)
{
    size_t len = strlen(token), dots = 0, first_dot = 0, last_dot = 0, i;
    jwt_t *jwt = NULL;
    tm_cred result;

    if (!conf->jwt_secret) {
        *why = "no JWT secret configured";
        return TM_CRED_INVALID;
    }
    if (len == 0 || len > TM_TOKEN_MAX_LEN) {
        *why = "token length";
        return TM_CRED_INVALID;
    }
    for (i = 0; i < len; i++) {
        if (token[i] == '.') {
            if (dots++ == 0) {
                first_dot = i;
            }
            last_dot = i;
        }
        else if (!tm_b64url_char(token[i])) {
            *why = "token is not base64url";
            return TM_CRED_INVALID;
        }
    }
    /* No segment may be empty: libjwt 1.10 decodes an empty one into a
     * zero-byte buffer and writes past it (found by make fuzz-valgrind;
     * fuzz/regressions/jwt/empty-segments). */
    if (dots != 2 || first_dot == 0 || last_dot == first_dot + 1
        || last_dot == len - 1 || !header_alg_ok(p, token, first_dot)) {
        *why = "token header or algorithm refused";
        return TM_CRED_INVALID;
    }
    /* During a key rotation the previous key still verifies the tokens
     * it signed (TimingJWTPreviousSecretFile); only the current signs. */
    if ((jwt_decode(&jwt, token, (const unsigned char *)conf->jwt_secret,
                    (int)conf->jwt_secret_len) != 0 || !jwt)
        && (!conf->jwt_prev_secret
            || jwt_decode(&jwt, token,
                          (const unsigned char *)conf->jwt_prev_secret,
                          (int)conf->jwt_prev_secret_len) != 0 || !jwt)) {
        *why = "bad signature or malformed token";
        return TM_CRED_INVALID;
    }
    if (jwt_get_alg(jwt) != JWT_ALG_HS256) {
        result = TM_CRED_INVALID;
        *why = "algorithm refused";
    }
    else {
        result = check_claims(p, conf, jwt, who, why);
    }
    jwt_free(jwt);
    return result;
}
