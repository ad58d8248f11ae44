/*
 * tm_auth.h -- credentials: the JWT a request carries (checked by
 * tm_jwt.c), issuing tokens, and logging in.
 */
#ifndef TM_AUTH_H
#define TM_AUTH_H

#include "mod_timing.h"
#include "tm_jwt.h"

/* The request's Authorization: Bearer credential. */
tm_cred tm_auth_bearer(request_rec *r, const tm_srv_conf *conf,
                       tm_identity **who);

/* Signs a token for a user with the configured key, issuer and lifetime,
 * carrying the user's token version (users.token_version, the claim tv).
 * Returns the compact JWT in p (NULL when libjwt fails) and *expires. */
const char *tm_auth_issue(apr_pool_t *p, const tm_srv_conf *conf,
                          const char *user_id, const char *role,
                          const char *name, unsigned long token_version,
                          apr_time_t *expires);

/* POST /api/auth/login */
int tm_auth_login(tm_ctx *c);


#endif /* TM_AUTH_H */
