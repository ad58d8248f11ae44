/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tm_jwt.h -- tokens, through libjwt (the only file that calls it):
 * signing one, and checking a bearer token, pure: APR, json-c and libjwt
 * but no request, so the fuzz harness (fuzz/fuzz_jwt.c) drives it
 * directly.
 */
#ifndef TM_JWT_H
#define TM_JWT_H

#include "mod_timing.h"

typedef enum {
    TM_CRED_NONE = 0,       /* no Authorization header */
    TM_CRED_OK,             /* valid; *who is set */
    TM_CRED_INVALID         /* present but not acceptable: a 401 */
} tm_cred;

/* Signs a token for a user with the configured key, issuer and lifetime,
 * carrying the user's token version (users.token_version, the claim tv).
 * Returns the compact JWT in p (NULL when libjwt fails) and *expires. */
const char *tm_auth_issue(apr_pool_t *p, const tm_srv_conf *conf,
                          const char *user_id, const char *role,
                          const char *name, unsigned long token_version,
                          apr_time_t *expires);

/* Checks a compact JWT against the configuration: exactly the configured
 * algorithm (HS256), the signature, iss, exp, iat, sub, role and the form
 * of tv (the token version; the user's current one is not known here).  On
 * TM_CRED_INVALID, *why says what failed (for the log, never the client). */
tm_cred tm_auth_check_token(apr_pool_t *p, const tm_srv_conf *conf,
                            const char *token, tm_identity **who,
                            const char **why);

#endif /* TM_JWT_H */
