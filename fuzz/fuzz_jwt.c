/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_jwt.c -- bearer tokens through tm_auth_check_token (tm_jwt.c) with
 * a fixed key, and libjwt's jwt_decode on the raw input.
 *
 * The first byte picks the mode: even, the rest is a token as a client
 * sends it; odd, the rest is a claims text that is signed with the key
 * first, so the claim checks past the signature are reached too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apr_general.h"
#include "apr_pools.h"
#include "apr_strings.h"

#include <jwt.h>

#include "tm_jwt.h"

#define KEY "fuzzing-key-fuzzing-key-fuzzing-key!"

static apr_pool_t *root;
static tm_srv_conf conf;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    apr_initialize();
    apr_pool_create(&root, NULL);
    conf.jwt_secret = KEY;
    conf.jwt_secret_len = sizeof KEY - 1;
    conf.jwt_issuer = "timing";
    return 0;
}

/* A token signed with the key over the given claims (NULL when libjwt
 * refuses them: not a JSON object). */
static char *signed_token(const char *claims)
{
    jwt_t *jwt = NULL;
    char *text = NULL;

    if (jwt_new(&jwt) == 0 && jwt_add_grants_json(jwt, claims) == 0
        && jwt_set_alg(jwt, JWT_ALG_HS256, (const unsigned char *)KEY,
                       (int)sizeof KEY - 1) == 0) {
        text = jwt_encode_str(jwt);
    }
    jwt_free(jwt);
    return text;
}

/* libjwt 1.10 writes past a zero-byte buffer when it decodes an empty
 * segment ("x..y"); tm_jwt.c refuses those before libjwt sees them, so
 * here they go to tm_auth_check_token only. */
static int empty_segment(const char *t)
{
    const char *dot;

    for (; (dot = strchr(t, '.')) != NULL; t = dot + 1) {
        if (dot == t) {
            return 1;
        }
    }
    return *t == '\0';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    char *input, *token, *made = NULL;
    tm_identity *who = NULL;
    const char *why = NULL;
    jwt_t *jwt = NULL;
    tm_cred cred;

    if (size < 1) {
        return 0;
    }
    apr_pool_create(&p, root);
    input = apr_pstrmemdup(p, (const char *)data + 1, size - 1);
    token = input;
    if (data[0] & 1) {
        made = signed_token(input);
        if (!made) {
            apr_pool_destroy(p);
            return 0;
        }
        token = made;
    }
    else if (!empty_segment(input)
             && jwt_decode(&jwt, input, (const unsigned char *)KEY,
                           (int)sizeof KEY - 1) == 0) {
        jwt_free(jwt);
    }
    cred = tm_auth_check_token(p, &conf, token, &who, &why);
    if (cred == TM_CRED_OK) {
        /* An accepted token names a known role and a decimal user id. */
        if (!who || !who->user_id || !who->role
            || strspn(who->user_id, "0123456789") != strlen(who->user_id)
            || (strcmp(who->role, "admin") && strcmp(who->role, "staff")
                && strcmp(who->role, "customer"))) {
            abort();
        }
    }
    else if (cred != TM_CRED_INVALID || !why) {
        abort();
    }
    free(made);
    apr_pool_destroy(p);
    return 0;
}
