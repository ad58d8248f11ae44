/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tm_ratelimit.c -- rate limits kept in the database (rate_events).
 *
 * A per-process counter would let each Apache child allow the full limit;
 * the database is already shared by all of them and the rows are few.
 */
#include "mod_timing.h"
#include "tm_ratelimit.h"
#include "tm_addr.h"
#include "tm_db.h"
#include "tm_json.h"

#include "apr_strings.h"
#include "http_protocol.h"

APLOG_USE_MODULE(timing);

static apr_status_t count(request_rec *r, ap_dbd_t *dbd, const char *bucket,
                          int limit, int window, int *retry_after)
{
    const char *args[3];
    apr_dbd_results_t *res;
    apr_dbd_row_t *row;
    long n = 0, retry = 1;

    args[0] = apr_itoa(r->pool, window);
    args[1] = bucket;
    args[2] = args[0];
    if (tm_db_select(r, dbd, TM_Q_RATE_COUNT, &res, 3, args)
        != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    while (tm_db_next(r, dbd, res, &row)) {
        const char *left = tm_db_col(dbd, row, 1);

        n = atol(tm_db_col(dbd, row, 0));
        retry = left ? atol(left) : 1;
    }
    if (n <= limit) {
        return APR_SUCCESS;
    }
    *retry_after = retry < 1 ? 1 : (int)retry;
    return APR_EAGAIN;
}

apr_status_t tm_rate_take(request_rec *r, ap_dbd_t *dbd, const char *bucket,
                          int limit, int window, int *retry_after,
                          const char **attempt)
{
    const char *args[1] = { bucket };
    apr_uint32_t dice;
    apr_status_t rv;

    /* About one take in a hundred also drops rows older than a day. */
    if (apr_generate_random_bytes((unsigned char *)&dice, sizeof dice)
        == APR_SUCCESS && dice % 100 == 0) {
        tm_db_exec(r, dbd, TM_Q_RATE_PURGE, NULL, 0, NULL);
    }
    if (tm_db_exec(r, dbd, TM_Q_RATE_ADD, NULL, 1, args) != APR_SUCCESS
        || !(*attempt = tm_db_value(r, dbd, TM_Q_LAST_ID, 0, NULL, &rv))) {
        return APR_EGENERAL;
    }
    rv = count(r, dbd, bucket, limit, window, retry_after);
    if (rv != APR_SUCCESS) {
        tm_rate_forget(r, dbd, *attempt);
        *attempt = NULL;
    }
    return rv;
}

apr_status_t tm_rate_forget(request_rec *r, ap_dbd_t *dbd,
                            const char *attempt)
{
    const char *args[1] = { attempt };

    return attempt ? tm_db_exec(r, dbd, TM_Q_RATE_FORGET, NULL, 1, args)
                   : APR_SUCCESS;
}

apr_status_t tm_rate_clear(request_rec *r, ap_dbd_t *dbd, const char *bucket)
{
    const char *args[1] = { bucket };

    return tm_db_exec(r, dbd, TM_Q_RATE_CLEAR, NULL, 1, args);
}

const char *tm_rate_address(request_rec *r, const char *kind)
{
    return apr_pstrcat(r->pool, kind, ":address:",
                       tm_addr_bucket(r->pool, r->useragent_ip), NULL);
}

apr_status_t tm_rate_address_take(request_rec *r, ap_dbd_t *dbd,
                                  const char *kind, int limit, int window,
                                  const char *message, const char **attempt)
{
    int retry = 1;
    apr_status_t rv;

    *attempt = NULL;
    if (limit <= 0) {
        return APR_SUCCESS;
    }
    rv = tm_rate_take(r, dbd, tm_rate_address(r, kind), limit, window,
                      &retry, attempt);
    if (rv == APR_EAGAIN) {
        tm_fail_rate_limited(r, retry, message);
    }
    else if (rv != APR_SUCCESS) {
        tm_fail_db(r);
    }
    return rv;
}

int tm_fail_rate_limited(request_rec *r, int retry_after, const char *message)
{
    apr_table_setn(r->headers_out, "Retry-After",
                   apr_itoa(r->pool, retry_after));
    return tm_fail(r, HTTP_TOO_MANY_REQUESTS, "rate_limited", message);
}
