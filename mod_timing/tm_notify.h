/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tm_notify.h -- mod_timing's side of timing_proto.h: sealed datagrams to
 * timing-eventd's event socket (conf->event_socket, conf->eventd_secret),
 * and the seal of an upgrade's trusted headers.
 */
#ifndef TM_NOTIFY_H
#define TM_NOTIFY_H

#include "mod_timing.h"
#include <json.h>
#include <stdint.h>

/* Sends one sealed datagram of `type` with body (and the descriptor pass
 * by SCM_RIGHTS, unless it is -1) from a socket of its own in p, then
 * waits up to `timeout` for a sealed answer of answer_type that take()
 * accepts (returns nonzero; it gets the answer's n body bytes, not
 * NUL-terminated).  APR_SUCCESS, APR_TIMEUP, or the error of the send
 * (the daemon is down: ECONNREFUSED, ENOENT). */
apr_status_t tm_notify_ask(apr_pool_t *p, const tm_srv_conf *conf,
                           uint16_t type, const char *body, size_t len,
                           int pass, uint16_t answer_type,
                           apr_interval_time_t timeout,
                           int (*take)(const char *answer, size_t n,
                                       void *baton),
                           void *baton);

/* Asks the daemon for its figures and waits up to `timeout` for them.
 * On success *answer is the parsed JSON object, tied to r->pool.
 * Returns APR_SUCCESS, or an error when the daemon is down or slow. */
apr_status_t tm_notify_stats(request_rec *r, const tm_srv_conf *conf,
                             apr_interval_time_t timeout,
                             json_object **answer);

/* Sends one committed event to the daemon, without waiting: staff is the
 * WebSocket message for staff, customer (or NULL) the one for the order's
 * customer.  A failure is counted and reported in the next message that
 * gets through, so the daemon can tell its clients to resync. */
void tm_notify_event(request_rec *r, const tm_srv_conf *conf,
                     const char *epoch, apr_int64_t event_id,
                     apr_int64_t order_id, const char *type,
                     json_object *staff, json_object *customer);

/* From each new Apache child: the sockets tunnelled by an older
 * generation are to be recycled (the daemon sends them `reconnect`). */
void tm_notify_generation(server_rec *s, apr_pool_t *p,
                          const tm_srv_conf *conf, apr_int64_t generation);

/* From Apache's parent as it exits for good (not a reload): the daemon
 * says goodbye to the sockets handed off to it.  Allocates nothing (the
 * pools are going). */
void tm_notify_apache_stopped(const tm_srv_conf *conf,
                              apr_int64_t generation);

/* A user's tokens were revoked (disabled, new password or role): their
 * open sockets end with `auth`.  Sent after COMMIT for the outbox row
 * event_id, like an event: the daemon watches its id, so a revoke that is
 * lost shows as a gap, and a failure is counted and reported as for
 * events. */
void tm_notify_revoke(request_rec *r, const tm_srv_conf *conf,
                      const char *epoch, apr_int64_t event_id,
                      const char *user_id);

/* Dates and seals the trusted X-Timing-* headers mod_timing has set in
 * r->headers_in (X-Timing-Sent, then X-Timing-Seal): APR_SUCCESS, or an
 * error when sealing failed. */
apr_status_t tm_notify_seal_upgrade(request_rec *r,
                                    const tm_srv_conf *conf);

#endif /* TM_NOTIFY_H */
