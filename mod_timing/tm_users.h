/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tm_users.h -- accounts: registration, the caller's own account, and the
 * admin's management of staff.  Passwords are bcrypt hashes made and
 * checked by APR; they are never returned, logged or stored in clear.
 */
#ifndef TM_USERS_H
#define TM_USERS_H

#include "mod_timing.h"
#include "apr_dbd.h"
#include "mod_dbd.h"
#include <json.h>

/* Columns of every user query: id, name, email, password_hash, role,
 * disabled, created_at.  The object the API shows (never the hash). */
json_object *tm_user_json(ap_dbd_t *dbd, apr_dbd_row_t *row);

/* A bcrypt hash of password in p, or NULL when no random salt. */
const char *tm_password_hash(apr_pool_t *p, const char *password);

/* Checks that the token's user still exists and is enabled, and takes
 * role and name from the database (a demotion counts at once), on dbd
 * (NULL: the database is unreachable).  Returns OK, HTTP_UNAUTHORIZED,
 * or HTTP_SERVICE_UNAVAILABLE. */
int tm_users_refresh(request_rec *r, ap_dbd_t *dbd, tm_identity *who);

int tm_users_register(tm_ctx *c);       /* POST /api/auth/register */
int tm_users_me(tm_ctx *c);             /* GET /api/auth/me */
int tm_users_list(tm_ctx *c);           /* GET /api/admin/users */
int tm_users_create(tm_ctx *c);         /* POST /api/admin/users */
int tm_users_update(tm_ctx *c);         /* PATCH /api/admin/users/:id */

#endif /* TM_USERS_H */
