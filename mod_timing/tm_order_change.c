/*
 * tm_order_change.c -- status changes and the events they announce.
 *
 * The event row stores the messages without their event_id (it is the
 * row's own id); the id is added when the event is sent and when the log
 * is read, so both carry exactly the same message.
 */
#include "mod_timing.h"
#include "tm_order_change.h"
#include "tm_db.h"
#include "tm_json.h"
#include "tm_notify.h"

#include "apr_strings.h"

APLOG_USE_MODULE(timing);

static const char *text_of(json_object *o)
{
    return o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN
                                              | JSON_C_TO_STRING_NOSLASHESCAPE)
             : NULL;
}

apr_status_t tm_order_event_insert(request_rec *r, ap_dbd_t *dbd,
                                   const char *now, tm_announcement *a)
{
    const char *args[5], *id;
    apr_status_t rv;

    args[0] = a->type;
    args[1] = apr_psprintf(r->pool, "%" APR_INT64_T_FMT, a->order_id);
    args[2] = text_of(a->staff);
    args[3] = text_of(a->customer);
    args[4] = now;
    if (tm_db_exec(r, dbd, TM_Q_EVENT_INSERT, NULL, 5, args) != APR_SUCCESS
        || !(id = tm_db_value(r, dbd, TM_Q_LAST_ID, 0, NULL, &rv))) {
        return APR_EGENERAL;
    }
    a->event_id = apr_atoi64(id);
    return APR_SUCCESS;
}

static json_object *status_message(apr_pool_t *p, const tm_order *o,
                                   const char *previous, int masked)
{
    json_object *m = tm_json_object(p);

    json_object_object_add(m, "type",
                           json_object_new_string("orderStatusUpdate"));
    json_object_object_add(m, "order", tm_order_json(p, o, masked));
    json_object_object_add(m, "status", json_object_new_string(o->status));
    json_object_object_add(m, "previous_status",
                           json_object_new_string(previous));
    return m;
}

apr_status_t tm_order_change(request_rec *r, ap_dbd_t *dbd, tm_order *o,
                             const char *to, const char *by_user,
                             const char *reason, tm_announcement *out)
{
    apr_pool_t *p = r->pool;
    apr_dbd_results_t *res;
    apr_dbd_row_t *row;
    const char *now = NULL, *previous = o->status, *args[6];
    const char *id = apr_psprintf(p, "%" APR_INT64_T_FMT, o->id);

    if (tm_db_select(r, dbd, TM_Q_NOW_EPOCH, &res, 0, NULL) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    while (tm_db_next(r, dbd, res, &row)) {
        now = apr_pstrdup(p, tm_db_col(dbd, row, 0));
        out->epoch = apr_pstrdup(p, tm_db_col(dbd, row, 1));
    }
    if (!now) {
        return APR_EGENERAL;
    }
    args[0] = to;
    args[1] = now;
    args[2] = id;
    if (tm_db_exec(r, dbd, TM_Q_ORDER_SET_STATUS, NULL, 3, args)
        != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    args[0] = id;
    args[1] = previous;
    args[2] = to;
    args[3] = by_user;
    args[4] = reason;
    args[5] = now;
    if (tm_db_exec(r, dbd, TM_Q_HISTORY_INSERT, NULL, 6, args)
        != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    o->status = to;
    o->version++;
    o->updated_at = now;
    out->order_id = o->id;
    out->type = "orderStatusUpdate";
    out->staff = status_message(p, o, previous, 0);
    out->customer = status_message(p, o, previous, 1);
    return tm_order_event_insert(r, dbd, now, out);
}

void tm_order_announce(request_rec *r, const tm_srv_conf *conf,
                       tm_announcement *a)
{
    json_object_object_add(a->staff, "event_id",
                           json_object_new_int64(a->event_id));
    if (a->customer) {
        json_object_object_add(a->customer, "event_id",
                               json_object_new_int64(a->event_id));
    }
    tm_notify_event(r, conf, a->epoch, a->event_id, a->order_id,
                    a->type, a->staff, a->customer);
}
