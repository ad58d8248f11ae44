/*
 * tm_jwt.c -- is a bearer token acceptable?
 *
 * libjwt 1.10 verifies a signature with whatever algorithm the token's
 * own header names and has no validation helper, so the algorithm is
 * checked here before libjwt sees the token, and every claim after.
 */
#include "tm_jwt.h"
#include "tm_access.h"
#include "tm_valid.h"

#include "apr_base64.h"
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

static int is_b64url(char c)
{
    return apr_isalnum(c) || c == '-' || c == '_';
}

/* Decodes one base64url segment into a NUL-terminated string in p. */
static char *b64url_decode(apr_pool_t *p, const char *s, size_t len)
{
    char *std = apr_palloc(p, len + 3);
    char *out;
    size_t i;
    int n;

    for (i = 0; i < len; i++) {
        std[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
    }
    while (i % 4) {
        std[i++] = '=';
    }
    std[i] = '\0';
    out = apr_palloc(p, apr_base64_decode_len(std) + 1);
    n = apr_base64_decode(out, std);
    out[n] = '\0';
    return out;
}

/* The header must name exactly the configured algorithm. */
static int header_alg_ok(apr_pool_t *p, const char *token, size_t hlen)
{
    char *text = b64url_decode(p, token, hlen);
    json_object *h = json_tokener_parse(text), *alg, *typ;
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
        else if (!is_b64url(token[i])) {
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
