/*
 * tm_order_change.h -- a status change as one unit: the order row, its
 * history row and its orderStatusUpdate event in the caller's transaction,
 * then, after COMMIT, the announcement to timing-eventd.
 */
#ifndef TM_ORDER_CHANGE_H
#define TM_ORDER_CHANGE_H

#include "mod_timing.h"
#include "tm_order_view.h"

typedef struct tm_announcement {
    const char *epoch;
    apr_int64_t event_id, order_id;
    const char *type;
    json_object *staff, *customer;  /* messages without event_id */
} tm_announcement;

/* Inside a transaction that has locked o (tm_order_load with lock): moves
 * it to `to`, records who and why, writes the event, and updates o to
 * match.  Fills *out for tm_order_announce.  Logs and returns an error
 * when a statement failed (the caller rolls back and answers 503). */
apr_status_t tm_order_change(request_rec *r, ap_dbd_t *dbd, tm_order *o,
                             const char *to, const char *by_user,
                             const char *reason, tm_announcement *out);

/* Writes an event row for an announcement whose messages are built; sets
 * its event_id.  Used for newOrder by order creation. */
apr_status_t tm_order_event_insert(request_rec *r, ap_dbd_t *dbd,
                                   const char *now, tm_announcement *a);

/* After COMMIT: sends the event (with its event_id) to the daemon. */
void tm_order_announce(request_rec *r, const tm_srv_conf *conf,
                       tm_announcement *a);

#endif /* TM_ORDER_CHANGE_H */
