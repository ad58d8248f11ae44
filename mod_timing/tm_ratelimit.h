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

/* How many attempts bucket has had in the last `window` seconds.  When
 * there are `limit` or more, returns APR_EAGAIN with *retry_after set to
 * the seconds until one leaves the window; APR_SUCCESS when under it;
 * another error when the database failed (logged). */
apr_status_t tm_rate_check(request_rec *r, ap_dbd_t *dbd, const char *bucket,
                           int limit, int window, int *retry_after);

/* Records one attempt in bucket (and now and then forgets day-old ones). */
apr_status_t tm_rate_add(request_rec *r, ap_dbd_t *dbd, const char *bucket);

/* Forgets every attempt of bucket (an account after a good login). */
apr_status_t tm_rate_clear(request_rec *r, ap_dbd_t *dbd, const char *bucket);

/* Answers 429 rate_limited with Retry-After. */
int tm_fail_rate_limited(request_rec *r, int retry_after,
                         const char *message);

#endif /* TM_RATELIMIT_H */
