/*
 * tm_auth.h -- credentials: the JWT a request carries (libjwt stays
 * inside tm_auth.c), issuing tokens, and logging in.
 */
#ifndef TM_AUTH_H
#define TM_AUTH_H

#include "mod_timing.h"

typedef enum {
    TM_CRED_NONE = 0,       /* no Authorization header */
    TM_CRED_OK,             /* valid; *who is set */
    TM_CRED_INVALID         /* present but not acceptable: a 401 */
} tm_cred;

/* Checks a compact JWT against the configuration: exactly the configured
 * algorithm (HS256), the signature, iss, exp, iat, sub and role.  On
 * TM_CRED_INVALID, *why says what failed (for the log, never the client). */
tm_cred tm_auth_check_token(apr_pool_t *p, const tm_srv_conf *conf,
                            const char *token, tm_identity **who,
                            const char **why);

/* The request's Authorization: Bearer credential. */
tm_cred tm_auth_bearer(request_rec *r, const tm_srv_conf *conf,
                       tm_identity **who);

/* Signs a token for a user with the configured key, issuer and lifetime.
 * Returns the compact JWT in p (NULL when libjwt fails) and *expires. */
const char *tm_auth_issue(apr_pool_t *p, const tm_srv_conf *conf,
                          const char *user_id, const char *role,
                          const char *name, apr_time_t *expires);

/* POST /api/auth/login */
int tm_auth_login(tm_ctx *c);


#endif /* TM_AUTH_H */
