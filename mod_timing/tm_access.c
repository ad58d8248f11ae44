/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tm_access.c -- the one decision of who may see an order, and the pieces
 * it is made of (see tm_access.h).
 *
 * An order the caller may not see is answered by the callers exactly like
 * one that does not exist, so only "nothing" is ever told apart from a
 * sight: never which credential failed.
 */
#include "tm_access.h"

#include "apr_crypto.h"
#include "apr_sha1.h"
#include "apr_strings.h"

#include <string.h>

static int ows(char ch)
{
    return ch == ' ' || ch == '\t';
}

const char *tm_cookie_value(apr_pool_t *p, const char *header,
                            const char *name)
{
    size_t nlen = strlen(name);
    const char *pair = header, *end, *eq, *v, *ve;

    if (!header) {
        return NULL;
    }
    for (; *pair; pair = *end ? end + 1 : end) {
        end = pair + strcspn(pair, ";");
        while (pair < end && ows(*pair)) {
            pair++;
        }
        eq = memchr(pair, '=', (size_t)(end - pair));
        if (!eq) {
            continue;
        }
        ve = eq;
        while (ve > pair && ows(ve[-1])) {
            ve--;
        }
        if ((size_t)(ve - pair) != nlen || strncmp(pair, name, nlen)) {
            continue;
        }
        v = eq + 1;
        ve = end;
        while (v < ve && ows(*v)) {
            v++;
        }
        while (ve > v && ows(ve[-1])) {
            ve--;
        }
        if (ve - v >= 2 && *v == '"' && ve[-1] == '"') {
            v++;
            ve--;
        }
        return apr_pstrmemdup(p, v, (apr_size_t)(ve - v));
    }
    return NULL;
}

const char *tm_tracking_hash(apr_pool_t *p, const char *token)
{
    unsigned char digest[APR_SHA1_DIGESTSIZE];
    char *hex = apr_palloc(p, 2 * sizeof digest + 1);
    apr_sha1_ctx_t sha;
    int i;

    apr_sha1_init(&sha);
    apr_sha1_update_binary(&sha, (const unsigned char *)token,
                           (unsigned int)strlen(token));
    apr_sha1_final(digest, &sha);
    for (i = 0; i < APR_SHA1_DIGESTSIZE; i++) {
        apr_snprintf(hex + 2 * i, 3, "%02X", digest[i]);
    }
    return hex;
}

int tm_tracking_matches(apr_pool_t *p, const char *hash, const char *token)
{
    const char *mine;

    if (!token || !*token || strlen(token) > TM_TRACKING_TOKEN_MAX
        || !hash) {
        return 0;
    }
    /* Hashes of equal length compared without an early exit: the time
     * tells nothing about how much of a guess was right. */
    mine = tm_tracking_hash(p, token);
    return strlen(mine) == strlen(hash)
           && apr_crypto_equals(mine, hash, strlen(hash));
}

tm_sight tm_order_sight(apr_pool_t *p, const char *owner,
                        const char *tracking_hash,
                        const tm_sight_claim *claim)
{
    if (claim->role && tm_role_is_staff(claim->role)) {
        return TM_SEES_AS_STAFF;
    }
    if (claim->user_id && owner && !strcmp(claim->user_id, owner)) {
        return TM_SEES_AS_CUSTOMER;
    }
    if (claim->user_id && claim->identity_decides) {
        return TM_SEES_NOTHING;
    }
    if (tm_tracking_matches(p, tracking_hash, claim->tracking)
        || tm_tracking_matches(p, tracking_hash, claim->cookie)) {
        return TM_SEES_AS_CUSTOMER;
    }
    return TM_SEES_NOTHING;
}
