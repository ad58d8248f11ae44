/* SPDX-License-Identifier: Apache-2.0 */
/*
 * events.c -- reads the events socket and acts on each datagram.
 *
 * One datagram is one message (timing_proto.h): TP_EVENT carries a
 * committed event with both renderings already made by mod_timing, the
 * staff message and the customer's masked one; each is serialised once
 * here and the same bytes are queued to every matching session.  Only a
 * datagram sealed by mod_timing is believed (timing_proto.h): any other
 * process of the web server's user can reach this socket.  A datagram
 * that does not verify is dropped, counted and logged without its
 * contents; a sealed but bad one is counted and logged at debug, never
 * fatal: a bug in the module must not take the live sockets down.  Each
 * event is put in the replay ring before it is fanned out, so a session
 * that opens later finds it there and one open now gets it live, never
 * both.  An event of another epoch (the database was rebuilt under a
 * running daemon) empties the ring and resyncs every socket.  The ids are
 * watched (gapwatch.c): a gap still open after the horizon, or a sender
 * reporting failed sends, means an event that will never arrive, so
 * every socket is told to resync -- which order it was about cannot be
 * known -- and the ring refuses resumes from before it.  The lost one may
 * have been a revocation (TP_REVOKE carries an id of the same outbox and
 * is watched alike, but never replayed or shown): the daemon cannot read
 * the database, so every session opened with a user's token is asked to
 * reconnect, spread out (ws_server.c), and mod_timing checks the token
 * and its version again at the new upgrade.  Sessions
 * and subscriptions are ws_session.c's and the hub's, the replay itself
 * ws_resume.c's and ws_session.c's.  TP_HANDOFF comes with a client's
 * socket (SCM_RIGHTS): it is received here, close-on-exec, and handed
 * with the message to handoff.c, which takes it; a descriptor with any
 * other datagram, or one that does not verify, is closed at once.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <json-c/json.h>

#include "events.h"
#include "gapwatch.h"
#include "handoff.h"
#include "log.h"
#include "messages.h"
#include "stats.h"
#include "timing_proto.h"
#include "ws_frame.h"
#include "ws_session.h"

/* Bounded so sessions are flushed (before sleep) between batches: the
 * output cap counts what wslay still holds, and a burst queued without a
 * flush in between would make fast clients look slow. */
#define DATAGRAMS_PER_WAKEUP    64
#define EVENT_JSON_DEPTH        32
/* Best effort.  For AF_UNIX datagrams the queue is really bounded by
 * net.unix.max_dgram_qlen (10 by default; the module's sender waits
 * briefly for room, tm_notify.c) and by the sender's SO_SNDBUF; a bigger
 * receive buffer is asked for all the same. */
#define EVENTS_RCVBUF           (4 * 1024 * 1024)

struct events {
    loop *loop;
    hub *hub;
    ring *ring;
    ws_server *ws;
    gapwatch *gw;               /* ours */
    const unsigned char *secret;/* borrowed from main */
    size_t secret_len;
    long long horizon_ms;
    long long gap_timer, gap_due;   /* timer id (0: none) and when due */
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
    n = hub_fanout_admin(ev->hub, msg, strlen(msg), ws_session_send_resync,
                         NULL);
    n += hub_fanout_orders(ev->hub, msg, strlen(msg), ws_session_send_resync,
                           NULL);
    free(msg);
    log_msg(LOG_INFO, "resync (%s) sent to %zu session(s)", reason, n);
}

/* Follows the events' epoch.  A new one empties the ring, the gap watch
 * and the hub's event ids, and resyncs everyone: the history they hold
 * is another one.
 * 0, or -1 when the ring cannot take this event. */
static int follow_epoch(events *ev, json_object *o, int64_t event_id)
{
    json_object *e;
    const char *epoch;
    int had = ring_epoch(ev->ring) != NULL;

    if (!json_object_object_get_ex(o, "epoch", &e)
        || !json_object_is_type(e, json_type_string)) {
        return 0;
    }
    epoch = json_object_get_string(e);
    switch (ring_set_epoch(ev->ring, epoch)) {
    case 1:
        gw_reset(ev->gw);
        if (had) {
            hub_forget_events(ev->hub);
            log_msg(LOG_WARN, "events now come from epoch %s: the replay "
                    "ring starts again", epoch);
            resync_all(ev, "epoch");
        }
        return 0;
    case -1:
        gw_reset(ev->gw);
        log_msg(LOG_WARN, "out of memory keeping event %lld for replay",
                (long long)event_id);
        return -1;
    default:
        return 0;
    }
}

/* Something that never arrived may have been a revocation: the sessions
 * opened with a user's token go through mod_timing's check again. */
static void recheck_users(events *ev, const char *why)
{
    size_t n = ws_server_recheck_users(ev->ws);

    if (n > 0) {
        log_msg(LOG_INFO, "%s: %zu user session(s) to reconnect so their "
                "tokens are checked again", why, n);
    }
}

/* Reports the gaps open past the horizon, then sleeps until the next one
 * is due (or for good, until an id opens a new gap). */
static long long on_gap_timer(loop *l, long long id, void *data)
{
    events *ev = data;
    long long now = loop_now_ms(), next;
    size_t n;

    (void)l;
    (void)id;
    n = gw_expire(ev->gw, now);
    if (n > 0) {
        log_msg(LOG_WARN, "%zu gap(s) in the event ids still open after "
                "%lld ms: a rollback, a skipped id or a lost notification",
                n, ev->horizon_ms);
        ring_mark_loss(ev->ring, "gap");
        resync_all(ev, "gap");
        recheck_users(ev, "gap");
    }
    next = gw_next_deadline(ev->gw);
    if (next < 0) {
        ev->gap_timer = 0;
        return LOOP_NOMORE;
    }
    ev->gap_due = next;
    return next > now ? next - now : 0;
}

/* The timer runs only while a gap is open; an earlier deadline (the gap
 * watch pushing one out for room) brings it forward. */
static void arm_gap_timer(events *ev, long long now)
{
    long long next = gw_next_deadline(ev->gw);

    if (next < 0 || (ev->gap_timer && next >= ev->gap_due)) {
        return;
    }
    if (ev->gap_timer) {
        loop_del_timer(ev->loop, ev->gap_timer);
    }
    ev->gap_timer = loop_add_timer(ev->loop, next > now ? next - now : 0,
                                   on_gap_timer, ev);
    if (ev->gap_timer == -1) {
        ev->gap_timer = 0;
        log_msg(LOG_WARN, "cannot watch gaps in the event ids: no timer");
        return;
    }
    ev->gap_due = next;
}

/* Notes the id for the gap watch, and answers a sender's report of lost
 * notifications.  Before the event goes in the ring: the loss happened
 * before it, so a resume from this event on is safe and one from before
 * it is not. */
static void watch_ids(events *ev, int64_t event_id, int64_t failed)
{
    long long now = loop_now_ms();

    if (failed > 0) {
        log_msg(LOG_WARN, "mod_timing reports %lld event(s) it could not "
                "send before event %lld", (long long)failed,
                (long long)event_id);
        ring_mark_loss(ev->ring, "lost");
        resync_all(ev, "lost");
        recheck_users(ev, "lost");
    }
    gw_note(ev->gw, event_id, now);
    arm_gap_timer(ev, now);
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
    ws_frame frame;
    int update, kept;

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
    kept = follow_epoch(ev, o, event_id) == 0;
    if (int_field(o, "failed_sends", &failed) != 0) {
        failed = 0;
    }
    watch_ids(ev, event_id, failed);
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
    if (kept && ring_add(ev->ring, event_id, order_id,
                         update ? RING_STATUS_UPDATE : RING_NEW_ORDER, stext,
                         slen, ctext, clen) == -1) {
        log_msg(LOG_WARN, "out of memory keeping event %lld for replay",
                (long long)event_id);
    }
    /* Framed once for every staff session (NULL when out of memory:
     * each session then frames its own copy). */
    ws_frame_text(&frame, stext, slen);
    nstaff = hub_fanout_admin(ev->hub, stext, slen, ws_session_deliver,
                              frame.bytes ? &frame : NULL);
    ws_frame_free(&frame);
    if (ctext) {
        ncustomer = hub_fanout_order(ev->hub, order_id, ctext, clen,
                                     ws_session_deliver, NULL);
    }
    log_msg(LOG_DEBUG, "event %lld (%s, order %lld) to %zu staff and %zu "
            "customer session(s)", (long long)event_id, t,
            (long long)order_id, nstaff, ncustomer);
    json_object_put(o);
}

/* {"generation": G}: a new Apache child's generation.  A higher one than
 * any seen recycles the older generations' sessions (ws_server.c). */
static void handle_generation(events *ev, const char *body, size_t len)
{
    json_object *o = parse_body(body, len);
    int64_t generation;

    if (!o || int_field(o, "generation", &generation) || generation < 0) {
        stats.bad_datagrams++;
        log_msg(LOG_DEBUG, "generation datagram without a generation, "
                "dropped");
        json_object_put(o);
        return;
    }
    json_object_put(o);
    ws_server_new_generation(ev->ws, generation);
}

/* {"user_id": "N", "event_id": M, "epoch": E, "failed_sends": F}: that
 * user's tokens were revoked; every socket of theirs is told "auth" and
 * closed now.  M is the revoke's row in the outbox: its id is watched like
 * an event's (a lost revoke is a gap), but it goes neither to the ring nor
 * to any client.  (A body with no event_id, from an older module, only
 * revokes.) */
static void handle_revoke(events *ev, const char *body, size_t len)
{
    json_object *o = parse_body(body, len), *u;
    int64_t event_id = 0, failed = 0;
    size_t n;

    if (!o || !json_object_object_get_ex(o, "user_id", &u)
        || !json_object_is_type(u, json_type_string)
        || json_object_get_string_len(u) == 0
        || (json_object_object_get_ex(o, "event_id", NULL)
            && (int_field(o, "event_id", &event_id) || event_id <= 0))) {
        stats.bad_datagrams++;
        log_msg(LOG_DEBUG, "revoke datagram without a user_id or with a bad "
                "event_id, dropped");
        json_object_put(o);
        return;
    }
    if (event_id > 0) {
        follow_epoch(ev, o, event_id);
        if (int_field(o, "failed_sends", &failed) != 0) {
            failed = 0;
        }
        watch_ids(ev, event_id, failed);
    }
    n = ws_server_revoke_user(ev->ws, json_object_get_string(u));
    log_msg(LOG_INFO, "user %s revoked: %zu session(s) closed",
            json_object_get_string(u), n);
    json_object_put(o);
}

static void handle_datagram(events *ev, const unsigned char *buf, size_t n,
                            const struct sockaddr_un *from,
                            socklen_t fromlen, int fd)
{
    tp_header h;
    const char *body;
    int rc = tp_decode(buf, n, ev->secret, ev->secret_len,
                       loop_wall_ms(), &h, &body);

    if (fd != -1 && (rc != TP_OK || h.type != TP_HANDOFF)) {
        close(fd);
    }
    if (rc == TP_ERR_SEAL || rc == TP_ERR_STALE) {
        stats_note_unverified(rc == TP_ERR_SEAL ? "a datagram"
                                                : "an out-of-date datagram");
        return;
    }
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
                     hub_count_admin(ev->hub), hub_count_order(ev->hub),
                     ws_server_handoffs(ev->ws),
                     ws_server_sessions(ev->ws) - ws_server_handoffs(ev->ws),
                     ev->secret, ev->secret_len);
        break;
    case TP_GENERATION:
        handle_generation(ev, body, h.len);
        break;
    case TP_REVOKE:
        handle_revoke(ev, body, h.len);
        break;
    case TP_HANDOFF:
        handoff_take(ev->ws, ev->fd, fd, h.sent_ms, body, h.len,
                     (const struct sockaddr *)from, fromlen, ev->secret,
                     ev->secret_len);
        break;
    case TP_APACHE_STOPPED:
        handoff_apache_stopped(ev->ws);
        break;
    default:
        stats.bad_datagrams++;
        log_msg(LOG_DEBUG, "datagram of unexpected type %u, dropped",
                (unsigned)h.type);
        break;
    }
}

/* The first descriptor that came with a datagram (-1: none); any more
 * are closed.  A control message the kernel cut (MSG_CTRUNC) loses the
 * datagram: what did arrive is closed. */
static int received_fd(struct msghdr *msg, int *cut)
{
    struct cmsghdr *cm;
    int fd = -1;

    for (cm = CMSG_FIRSTHDR(msg); cm; cm = CMSG_NXTHDR(msg, cm)) {
        size_t i, nfds;

        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) {
            continue;
        }
        nfds = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (i = 0; i < nfds; i++) {
            int one;

            memcpy(&one, CMSG_DATA(cm) + i * sizeof(int), sizeof one);
            if (fd == -1 && !(msg->msg_flags & MSG_CTRUNC)) {
                fd = one;
            }
            else {
                close(one);
            }
        }
    }
    *cut = (msg->msg_flags & MSG_CTRUNC) != 0;
    return fd;
}

static void on_readable(loop *l, int fd, void *data, int mask)
{
    events *ev = data;
    int i;

    (void)l;
    (void)mask;
    for (i = 0; i < DATAGRAMS_PER_WAKEUP; i++) {
        struct sockaddr_un from;
        union {
            struct cmsghdr align;
            char buf[CMSG_SPACE(4 * sizeof(int))];
        } control;
        struct iovec iov = { ev->buf, ev->cap };
        struct msghdr msg;
        ssize_t n;
        int passed, cut;

        memset(&msg, 0, sizeof msg);
        msg.msg_name = &from;
        msg.msg_namelen = sizeof from;
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.buf;
        msg.msg_controllen = sizeof control.buf;
        /* MSG_TRUNC makes recvmsg report the datagram's real length, so
         * an oversized one is recognised rather than parsed cut short. */
        n = recvmsg(fd, &msg, MSG_TRUNC | MSG_CMSG_CLOEXEC);
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
        passed = received_fd(&msg, &cut);
        if ((size_t)n > ev->cap || cut) {
            if (passed != -1) {
                close(passed);
            }
            stats.bad_datagrams++;
            log_msg(LOG_DEBUG, "datagram of %zd bytes is over the limit or "
                    "came with too many descriptors, dropped", n);
            continue;
        }
        handle_datagram(ev, ev->buf, (size_t)n, &from, msg.msg_namelen,
                        passed);
    }
}

void events_read_first(events *ev)
{
    if (ev && ev->fd != -1) {
        on_readable(ev->loop, ev->fd, ev, LOOP_READABLE);
    }
}

void events_handle_datagram(events *ev, const void *buf, size_t len,
                            const struct sockaddr_un *from,
                            socklen_t fromlen)
{
    handle_datagram(ev, buf, len, from, fromlen, -1);
}

events *events_create(loop *l, hub *h, ring *r, ws_server *ws,
                      long long horizon_ms, int fd,
                      const unsigned char *secret, size_t secret_len)
{
    events *ev = calloc(1, sizeof *ev);
    int size = EVENTS_RCVBUF;

    if (!ev) {
        return NULL;
    }
    ev->loop = l;
    ev->hub = h;
    ev->ring = r;
    ev->ws = ws;
    ev->horizon_ms = horizon_ms;
    ev->fd = fd;
    ev->secret = secret;
    ev->secret_len = secret_len;
    ev->cap = TP_OVERHEAD + TP_MAX_BODY;
    ev->buf = malloc(ev->cap);
    ev->gw = gw_create(horizon_ms);
    if (!ev->buf || !ev->gw) {
        gw_destroy(ev->gw);
        free(ev->buf);
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
        gw_destroy(ev->gw);
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
    if (ev && ev->gap_timer) {
        loop_del_timer(ev->loop, ev->gap_timer);
        ev->gap_timer = 0;
    }
}

void events_destroy(events *ev)
{
    if (!ev) {
        return;
    }
    events_stop(ev);
    gw_destroy(ev->gw);
    free(ev->buf);
    free(ev);
}
