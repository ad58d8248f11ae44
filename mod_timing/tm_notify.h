/*
 * tm_notify.h -- mod_timing's side of timing_proto.h: datagrams to
 * timing-eventd's event socket.
 */
#ifndef TM_NOTIFY_H
#define TM_NOTIFY_H

#include "httpd.h"
#include <json.h>

/* Asks the daemon for its figures and waits up to `timeout` for them.
 * On success *answer is the parsed JSON object, tied to r->pool.
 * Returns APR_SUCCESS, or an error when the daemon is down or slow. */
apr_status_t tm_notify_stats(request_rec *r, const char *socket_path,
                             apr_interval_time_t timeout,
                             json_object **answer);

#endif /* TM_NOTIFY_H */
