/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tm_ratelimit.h -- sliding-window limits shared by every Apache process
 * and child: attempts are rows in the database, so a limit holds however
 * many processes serve the requests.
 */
#ifndef TM_RATELIMIT_H
#define TM_RATELIMIT_H

#include "httpd.h"
#include "apr_dbd.h"
#include "mod_dbd.h"

/* Takes one attempt from bucket: records it first, then counts, so that
 * concurrent attempts see each other and at most `limit` get through in
 * any window.  APR_SUCCESS with *attempt (its row, for tm_rate_forget);
 * APR_EAGAIN with *retry_after when over the limit (nothing recorded);
 * another error when the database failed. */
apr_status_t tm_rate_take(request_rec *r, ap_dbd_t *dbd, const char *bucket,
                          int limit, int window, int *retry_after,
                          const char **attempt);

/* Forgets one attempt taken with tm_rate_take (it did not count). */
apr_status_t tm_rate_forget(request_rec *r, ap_dbd_t *dbd,
                            const char *attempt);

/* Forgets every attempt of bucket (an account after a good login). */
apr_status_t tm_rate_clear(request_rec *r, ap_dbd_t *dbd, const char *bucket);

/* The bucket "<kind>:address:<key>" of the request's client address:
 * Apache's r->useragent_ip (so mod_remoteip's idea of it when it is
 * configured), an IPv6 address by its /64 (tm_addr.h). */
const char *tm_rate_address(request_rec *r, const char *kind);

/* Takes one attempt from the client address's allowance for kind: at
 * most `limit` in `window` seconds (0: no limit, nothing taken).
 * APR_SUCCESS with *attempt (NULL when there is no limit) to go on;
 * otherwise the request has been answered: 429 rate_limited with
 * Retry-After and `message`, or 503 when the database failed. */
apr_status_t tm_rate_address_take(request_rec *r, ap_dbd_t *dbd,
                                  const char *kind, int limit, int window,
                                  const char *message, const char **attempt);

/* Answers 429 rate_limited with Retry-After. */
int tm_fail_rate_limited(request_rec *r, int retry_after,
                         const char *message);

#endif /* TM_RATELIMIT_H */
