/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tm_auth.h -- credentials: the JWT a request carries, and logging in.
 * Signing and checking tokens are tm_jwt.c's (tm_jwt.h, included here).
 */
#ifndef TM_AUTH_H
#define TM_AUTH_H

#include "mod_timing.h"
#include "tm_jwt.h"

/* The request's Authorization: Bearer credential. */
tm_cred tm_auth_bearer(request_rec *r, const tm_srv_conf *conf,
                       tm_identity **who);

/* POST /api/auth/login */
int tm_auth_login(tm_ctx *c);


#endif /* TM_AUTH_H */
