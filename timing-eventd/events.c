/*
 * events.c -- reads the events socket and acts on each datagram.
 *
 * One datagram is one message (timing_proto.h): TP_EVENT carries a
 * committed event with both renderings already made by mod_timing, the
 * staff message and the customer's masked one; each is serialised once
 * here and the same bytes are queued to every matching session.  A bad
 * datagram is counted and logged at debug, never fatal: the module is
 * trusted, but a bug there must not take the live sockets down.  Each
 * event is put in the replay ring before it is fanned out, so a session
 * that opens later finds it there and one open now gets it live, never
 * both.  An event of another epoch (the database was rebuilt under a
 * running daemon) empties the ring and resyncs every socket.  Sessions
 * and subscriptions are ws_session.c's and the hub's, the replay itself
 * ws_resume.c's.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <json-c/json.h>

#include "events.h"
#include "log.h"
#include "messages.h"
#include "stats.h"
#include "timing_proto.h"
#include "ws_output.h"
#include "ws_resume.h"

/* Bounded so sessions are flushed (before sleep) between batches: the
 * output cap counts what wslay still holds, and a burst queued without a
 * flush in between would make fast clients look slow. */
#define DATAGRAMS_PER_WAKEUP    64
#define EVENT_JSON_DEPTH        32
/* Best effort.  For AF_UNIX datagrams the queue is really bounded by
 * net.unix.max_dgram_qlen (default 512 datagrams) and by the sender's
 * SO_SNDBUF; a bigger receive buffer is asked for all the same. */
#define EVENTS_RCVBUF           (4 * 1024 * 1024)

struct events {
    loop *loop;
    hub *hub;
    ring *ring;
    int fd;                     /* -1 once stopped */
    unsigned char *buf;         /* one datagram, header and largest body */
    size_t cap;
};

static int int_field(json_object *o, const char *key, int64_t *out)
{
    json_object *v;

    if (!json_object_object_get_ex(o, key, &v)
        || !json_object_is_type(v, json_type_int)) {
        return -1;
    }
    *out = json_object_get_int64(v);
    return 0;
}

/* Tells every open socket, staff and customers, that it may have missed
 * something (which order cannot be known) and must refetch. */
static void resync_all(events *ev, const char *reason)
{
    char *msg = msg_typed("resync", reason);
    size_t n;

    if (!msg) {
        log_msg(LOG_WARN, "cannot build a resync (%s): out of memory",
                reason);
        return;
    }
    n = hub_fanout_admin(ev->hub, msg, strlen(msg), ws_resume_send_resync,
                         NULL);
    n += hub_fanout_orders(ev->hub, msg, strlen(msg), ws_resume_send_resync,
                           NULL);
    free(msg);
    log_msg(LOG_INFO, "resync (%s) sent to %zu session(s)", reason, n);
}

/* Puts the event in the ring under its epoch.  A new epoch empties the
 * ring and resyncs everyone: the history they hold is another one. */
static void keep_event(events *ev, json_object *o, int64_t event_id,
                       int64_t order_id, int update, const char *staff,
                       size_t nstaff, const char *customer, size_t ncustomer)
{
    json_object *e;
    const char *epoch = NULL;
    int had;

    if (json_object_object_get_ex(o, "epoch", &e)
        && json_object_is_type(e, json_type_string)) {
        epoch = json_object_get_string(e);
    }
    if (epoch) {
        had = ring_epoch(ev->ring) != NULL;
        switch (ring_set_epoch(ev->ring, epoch)) {
        case 1:
            if (had) {
                log_msg(LOG_WARN, "events now come from epoch %s: the replay "
                        "ring starts again", epoch);
                resync_all(ev, "epoch");
            }
            break;
        case -1:
            log_msg(LOG_WARN, "out of memory keeping event %lld for replay",
                    (long long)event_id);
            return;
        default:
            break;
        }
    }
    if (ring_add(ev->ring, event_id, order_id,
                 update ? RING_STATUS_UPDATE : RING_NEW_ORDER, staff, nstaff,
                 customer, ncustomer) == -1) {
        log_msg(LOG_WARN, "out of memory keeping event %lld for replay",
                (long long)event_id);
    }
}

/* Parses the whole body as one JSON object, or returns NULL.  Strict, and
 * UTF-8 checked: what is in it goes out in text frames, and a browser
 * fails the whole connection on one invalid byte. */
static json_object *parse_body(const char *body, size_t len)
{
    json_tokener *tok = json_tokener_new_ex(EVENT_JSON_DEPTH);
    json_object *o;
    size_t end;

    if (!tok) {
        return NULL;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT
                                | JSON_TOKENER_VALIDATE_UTF8);
    o = json_tokener_parse_ex(tok, body, (int)len);
    end = o ? json_tokener_get_parse_end(tok) : 0;
    json_tokener_free(tok);
    if (!o) {
        return NULL;
    }
    /* Strict mode has consumed trailing whitespace; anything short of the
     * end is a second value or a NUL. */
    if (end != len || !json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        return NULL;
    }
    return o;
}

static void handle_event(events *ev, const char *body, size_t len)
{
    json_object *o, *type, *staff, *customer = NULL;
    int64_t event_id, order_id, failed = 0;
    const char *t, *stext, *ctext = NULL;
    size_t slen, clen = 0, nstaff, ncustomer = 0;
    int update;

    o = parse_body(body, len);
    if (!o) {
        stats.bad_datagrams++;
        log_msg(LOG_DEBUG, "event datagram is not a JSON object, dropped");
        return;
    }
    if (int_field(o, "event_id", &event_id) || event_id <= 0
        || int_field(o, "order_id", &order_id) || order_id <= 0
        || !json_object_object_get_ex(o, "type", &type)
        || !json_object_is_type(type, json_type_string)
        || !json_object_object_get_ex(o, "staff", &staff)
        || !json_object_is_type(staff, json_type_object)) {
        stats.bad_datagrams++;
        log_msg(LOG_DEBUG, "event lacks event_id, order_id, type or staff, "
                "dropped");
        json_object_put(o);
        return;
    }
    t = json_object_get_string(type);
    update = strcmp(t, "orderStatusUpdate") == 0;
    if (!update && strcmp(t, "newOrder") != 0) {
        stats.bad_datagrams++;
        log_msg(LOG_DEBUG, "event %lld has an unknown type, dropped",
                (long long)event_id);
        json_object_put(o);
        return;
    }
    stats.events_received++;
    if (int_field(o, "failed_sends", &failed) == 0 && failed > 0) {
        /* The gap watch will answer these with resync; for now they are
         * worth an operator's eye. */
        log_msg(LOG_WARN, "mod_timing reports %lld event(s) it could not "
                "send before event %lld", (long long)failed,
                (long long)event_id);
    }
    if (hub_note_event(ev->hub, order_id, event_id) == -1) {
        log_msg(LOG_WARN, "out of memory noting event %lld",
                (long long)event_id);
    }

    /* Serialised once: the same bytes go live and into the ring. */
    stext = json_object_to_json_string_length(staff, JSON_C_TO_STRING_PLAIN,
                                              &slen);
    if (update && json_object_object_get_ex(o, "customer", &customer)
        && json_object_is_type(customer, json_type_object)) {
        ctext = json_object_to_json_string_length(
            customer, JSON_C_TO_STRING_PLAIN, &clen);
    }
    if (!stext) {
        log_msg(LOG_WARN, "out of memory sending event %lld",
                (long long)event_id);
        json_object_put(o);
        return;
    }
    keep_event(ev, o, event_id, order_id, update, stext, slen, ctext, clen);
    nstaff = hub_fanout_admin(ev->hub, stext, slen, ws_session_deliver,
                              NULL);
    if (ctext) {
        ncustomer = hub_fanout_order(ev->hub, order_id, ctext, clen,
                                     ws_session_deliver, NULL);
    }
    log_msg(LOG_DEBUG, "event %lld (%s, order %lld) to %zu staff and %zu "
            "customer session(s)", (long long)event_id, t,
            (long long)order_id, nstaff, ncustomer);
    json_object_put(o);
}

static void handle_datagram(events *ev, size_t n,
                            const struct sockaddr_un *from,
                            socklen_t fromlen)
{
    tp_header h;
    const char *body;
    int rc = tp_decode(ev->buf, n, &h, &body);

    if (rc != TP_OK) {
        stats.bad_datagrams++;
        log_msg(LOG_DEBUG, "bad datagram of %zu bytes (error %d), dropped", n,
                rc);
        return;
    }
    switch (h.type) {
    case TP_EVENT:
        handle_event(ev, body, h.len);
        break;
    case TP_STATS_REQUEST:
        stats_answer(ev->fd, (const struct sockaddr *)from, fromlen,
                     hub_count_admin(ev->hub), hub_count_order(ev->hub));
        break;
    case TP_GENERATION:
        log_msg(LOG_DEBUG, "Apache generation message, nothing to do yet");
        break;
    default:
        stats.bad_datagrams++;
        log_msg(LOG_DEBUG, "datagram of unexpected type %u, dropped",
                (unsigned)h.type);
        break;
    }
}

static void on_readable(loop *l, int fd, void *data, int mask)
{
    events *ev = data;
    int i;

    (void)l;
    (void)mask;
    for (i = 0; i < DATAGRAMS_PER_WAKEUP; i++) {
        struct sockaddr_un from;
        socklen_t fromlen = sizeof from;
        ssize_t n;

        /* MSG_TRUNC makes recvfrom report the datagram's real length, so
         * an oversized one is recognised rather than parsed cut short. */
        n = recvfrom(fd, ev->buf, ev->cap, MSG_TRUNC,
                     (struct sockaddr *)&from, &fromlen);
        if (n == -1) {
            if (errno == EINTR) {
                continue;
            }
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                log_msg(LOG_WARN, "reading the events socket: %s",
                        strerror(errno));
            }
            return;
        }
        if ((size_t)n > ev->cap) {
            stats.bad_datagrams++;
            log_msg(LOG_DEBUG, "datagram of %zd bytes is over the limit, "
                    "dropped", n);
            continue;
        }
        handle_datagram(ev, (size_t)n, &from, fromlen);
    }
}

events *events_create(loop *l, hub *h, ring *r, int fd)
{
    events *ev = calloc(1, sizeof *ev);
    int size = EVENTS_RCVBUF;

    if (!ev) {
        return NULL;
    }
    ev->loop = l;
    ev->hub = h;
    ev->ring = r;
    ev->fd = fd;
    ev->cap = TP_HEADER_LEN + TP_MAX_BODY;
    ev->buf = malloc(ev->cap);
    if (!ev->buf) {
        free(ev);
        return NULL;
    }
    /* FORCE works for a privileged daemon and ignores rmem_max; otherwise
     * the plain option is capped by the kernel, which is fine too. */
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) == -1
        && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size) == -1) {
        log_msg(LOG_DEBUG, "cannot enlarge the events socket buffer: %s",
                strerror(errno));
    }
    if (loop_add_file(l, fd, LOOP_READABLE, on_readable, ev) == -1) {
        free(ev->buf);
        free(ev);
        return NULL;
    }
    return ev;
}

void events_stop(events *ev)
{
    if (ev && ev->fd != -1) {
        loop_del_file(ev->loop, ev->fd, LOOP_READABLE);
        ev->fd = -1;
    }
}

void events_destroy(events *ev)
{
    if (!ev) {
        return;
    }
    events_stop(ev);
    free(ev->buf);
    free(ev);
}
