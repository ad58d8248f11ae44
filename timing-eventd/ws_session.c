/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ws_session.c -- one WebSocket session, from the accepted fd to close.
 *
 * A session reads the upgrade request (parsed by handshake.c), answers it,
 * then lets wslay do the framing on its non-blocking fd: wslay's callbacks
 * read and write the fd, and after every event the epoll mask is
 * recomputed from wslay_event_want_read/_write (both false: done, close).
 * This file holds the per-session policy: the JSON ping/pong, the
 * heartbeat, what a client over its output bound is told, every
 * server-initiated goodbye, and queueing a resuming client's replay or
 * resync.  The bound itself is the output queue's (outq.c), the decision
 * to replay ws_resume.c's; what to send to whom is decided by events.c and
 * the hub; accepting, admitting, lists and freeing are the owner's
 * (ws_server.c), told through the callbacks it gives (ws_session.h).
 *
 * Closing is in two steps.  ws_session_close() closes the fd and leaves
 * the hub at once, but the memory (and the wslay context, which may be in
 * the middle of a call) is freed by the server after the batch of events:
 * another handler may still hold the pointer.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <wslay/wslay.h>

#include "admit.h"
#include "log.h"
#include "messages.h"
#include "outq.h"
#include "stats.h"
#include "ws_frame.h"
#include "ws_resume.h"
#include "ws_session.h"

#define HANDSHAKE_TIMEOUT_MS    10000   /* accept to a decided request */
#define READ_BUDGET             65536   /* bytes per session per wakeup */
/* "reconnect" and "auth": time for the goodbye and the close frame. */
#define GOODBYE_GRACE_MS        5000
#define SLOW_DRAIN_MS           5000    /* slow client: last words */
/* WSLAY_CODE_SERVICE_RESTART is not in every wslay's header. */
#define CODE_SERVICE_RESTART    1012

enum ws_state {
    WS_HANDSHAKE,       /* reading the upgrade request */
    WS_REFUSING,        /* writing an HTTP error, then close */
    WS_OPEN,            /* subscribed, wslay running */
    WS_CLOSING,         /* disconnect said, close frame to follow */
    WS_DEAD             /* fd closed, waiting to be freed */
};

struct ws_session {
    const ws_session_owner *owner;
    void *baton;                /* the owner's, for its callbacks */
    loop *loop;
    hub *hub;
    const ring *ring;           /* the server's, for resumes */
    const ws_config *cfg;
    int fd;
    int state;                  /* enum ws_state */
    hub_member member;
    hs_request *hs;             /* WS_HANDSHAKE only */
    wslay_event_context_ptr ctx;/* from WS_OPEN on */
    outq *out;                  /* from WS_OPEN on */

    char *raw;                  /* bytes before wslay's: the HTTP answer, or
                                 * the rest of a frame written past it */
    size_t raw_len, raw_off;
    char *pre;                  /* bytes read past the request head */
    size_t pre_len, pre_off;

    long long created_ms, last_recv_ms, next_ping_ms, deadline_ms;
    long long expires_ms;       /* asked to reconnect then; 0: never */
    size_t read_budget;
    int in_recv;                /* inside wslay_event_recv: no sending */
    char client_id[MSG_CLIENT_ID_LEN + 1];
    int64_t generation;         /* Apache generation that tunnels it */
    char *user;                 /* X-Timing-User, NULL when none */
    int handoff;                /* the client's own TCP socket, handed off
                                 * by Apache (handoff.c), not a tunnel */
    int answered;               /* the HTTP status answered, 0: none */
};

static void on_io(loop *l, int fd, void *data, int mask);

/* ---- life and death ---- */

void ws_session_close(ws_session *s, const char *why)
{
    if (s->state == WS_DEAD) {
        return;
    }
    log_msg(LOG_DEBUG, "session %s closed: %s",
            s->client_id[0] ? s->client_id : "(handshake)", why);
    hub_forget(s->hub, &s->member);
    loop_del_file(s->loop, s->fd, LOOP_READABLE | LOOP_WRITABLE);
    /* A handed-off socket's open file may still be Apache's too, for a
     * moment: close() alone would not end the connection then.  One not
     * answered was never taken: Apache answers on it. */
    if (s->handoff && s->answered) {
        shutdown(s->fd, SHUT_RDWR);
    }
    close(s->fd);
    s->fd = -1;
    s->state = WS_DEAD;
    s->owner->closed(s->baton);
}

ws_session *ws_session_new(loop *l, hub *h, const ring *r,
                           const ws_config *cfg, int fd,
                           const ws_session_owner *owner, void *baton)
{
    ws_session *s = calloc(1, sizeof *s);

    if (s) {
        s->hs = malloc(sizeof *s->hs);
    }
    if (!s || !s->hs || loop_add_file(l, fd, LOOP_READABLE, on_io, s)) {
        if (s) {
            free(s->hs);
        }
        free(s);
        close(fd);
        return NULL;
    }
    hs_init(s->hs, cfg->secret, cfg->secret_len, loop_wall_ms());
    s->owner = owner;
    s->baton = baton;
    s->loop = l;
    s->hub = h;
    s->ring = r;
    s->cfg = cfg;
    s->fd = fd;
    s->state = WS_HANDSHAKE;
    s->created_ms = loop_now_ms();
    return s;
}

void ws_session_free(ws_session *s)
{
    outq_destroy(s->out);
    if (s->ctx) {
        wslay_event_context_free(s->ctx);
    }
    free(s->hs);
    free(s->raw);
    free(s->pre);
    free(s->user);
    free(s);
}

int ws_session_fd(const ws_session *s)
{
    return s->fd;
}

/* ---- output ---- */

/* Sessions already closed have no output left to send. */
static void mark_dirty(ws_session *s)
{
    if (s->state != WS_DEAD) {
        s->owner->dirty(s->baton);
    }
}

/* Sending is for later while the HTTP answer is still going out, or from
 * inside wslay_event_recv, which is mid-call. */
static int may_send(const ws_session *s)
{
    return !s->raw && !s->in_recv;
}

/* Is s past limit with extra more bytes queued (outq_over)?  1 over, 0
 * within, -1 when writing failed and s is closed. */
static int over_limit(ws_session *s, size_t extra, size_t limit)
{
    int sent, rc = outq_over(s->out, extra, limit, may_send(s), &sent);

    if (rc == OUTQ_FAILED) {
        ws_session_close(s, "write failed");
        return -1;
    }
    if (sent) {
        /* The epoll mask follows what is left: the flush recomputes it. */
        mark_dirty(s);
    }
    return rc == OUTQ_OVER;
}

static void drop_slow(ws_session *s);

/* Queues one text message.  With the cap in force, a message that would
 * take the session past --max-queue turns it into a slow client instead.
 * Returns 0 when queued, -1 when not (the session may then be closing). */
static int queue(ws_session *s, const char *msg, size_t len, int bypass_cap)
{
    int sent, rc;

    if (s->state != WS_OPEN && !(bypass_cap && s->state == WS_CLOSING)) {
        return -1;
    }
    rc = outq_push(s->out, msg, len, bypass_cap, may_send(s), &sent);
    if (rc == OUTQ_FAILED) {
        ws_session_close(s, "write failed");
        return -1;
    }
    if (sent) {
        mark_dirty(s);
    }
    switch (rc) {
    case OUTQ_OK:
        stats.messages_sent++;
        /* Written now when the turn's budget allows: a fan-out then
         * reaches its first sockets while the rest are still being
         * queued, instead of after all of them.  A failed write closes
         * s, which stays allocated until the owner frees it after the
         * turn, so the caller's walk is safe. */
        if (may_send(s) && s->owner->flush_now(s->baton)) {
            ws_session_flush(s);
        }
        else {
            mark_dirty(s);
        }
        return 0;
    case OUTQ_OVER:
        drop_slow(s);
        return -1;
    case OUTQ_NOMEM:
        ws_session_close(s, "cannot queue a message: out of memory");
        return -1;
    default:
        return -1;      /* a close is already on its way */
    }
}

/* Says goodbye with {"type":"disconnect","reason":...}, then a close frame
 * once the queue has drained (the output queue waits for that); grace_ms
 * bounds the whole goodbye.  Open sessions only. */
static void begin_close(ws_session *s, const char *reason, int code,
                        long long grace_ms)
{
    char *msg;

    if (s->state != WS_OPEN) {
        return;
    }
    hub_forget(s->hub, &s->member);
    s->state = WS_CLOSING;
    outq_close_after(s->out, code, reason);
    s->deadline_ms = loop_now_ms() + grace_ms;
    msg = msg_typed("disconnect", reason);
    if (msg) {
        queue(s, msg, strlen(msg), 1);
        free(msg);
    }
    mark_dirty(s);
}

/* Over --max-queue: the client is not keeping up.  It is told why, after
 * what it already has queued, and gets SLOW_DRAIN_MS to take it all. */
static void drop_slow(ws_session *s)
{
    log_msg(LOG_INFO, "session %s: more than %zu bytes waiting, dropping a "
            "slow client", s->client_id, s->cfg->max_queue);
    stats.slow_clients_dropped++;
    begin_close(s, "slow_client", WSLAY_CODE_POLICY_VIOLATION,
                SLOW_DRAIN_MS);
}

/* Writes a framed message (ws_frame) past wslay: 1 when it went out, in
 * whole or with the rest kept as raw bytes to go first; 0 when the socket
 * took none of it (queue it instead); -1 when s is closed. */
static int write_framed(ws_session *s, const ws_frame *f)
{
    ssize_t n;

    do {
        n = send(s->fd, f->bytes, f->len, MSG_NOSIGNAL);
    } while (n == -1 && errno == EINTR);
    if (n == -1) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return 0;
        }
        ws_session_close(s, "write failed");
        return -1;
    }
    if ((size_t)n < f->len) {
        /* The rest goes before anything wslay frames next: flush_raw. */
        s->raw = malloc(f->len - (size_t)n);
        if (!s->raw) {
            ws_session_close(s, "cannot keep a partial write: out of memory");
            return -1;
        }
        memcpy(s->raw, f->bytes + n, f->len - (size_t)n);
        s->raw_len = f->len - (size_t)n;
        s->raw_off = 0;
        mark_dirty(s);
    }
    stats.messages_sent++;
    return 1;
}

void ws_session_deliver(void *session, const char *msg, size_t len,
                        void *baton)
{
    ws_session *s = session;
    const ws_frame *f = baton;

    /* Nothing queued on a handed-off socket: the frame built once for
     * the whole fan-out goes straight to the client, with no copy into
     * wslay's queue.  A tunnelled session's peer is an Apache thread that
     * wakes, reads and (over TLS) encrypts for every write it gets: there
     * the queue, written in the session's turn, carries several messages
     * a write when the fan-out runs behind (writing each at once cost
     * Apache three times the CPU at 10,000 sockets over TLS). */
    if (f && s->handoff && s->state == WS_OPEN && may_send(s)
        && outq_idle(s->out) && write_framed(s, f) != 0) {
        return;
    }
    queue(s, msg, len, 0);
}

void ws_session_send_resync(void *session, const char *msg, size_t len,
                            void *baton)
{
    (void)baton;
    if (queue(session, msg, len, 1) == 0) {
        stats.resyncs++;
    }
}

/* The first message of every session. */
static int queue_connection(ws_session *s, const char *epoch,
                            int64_t last_event_id)
{
    struct timespec now;
    char *msg;
    int rc;

    clock_gettime(CLOCK_REALTIME, &now);
    msg = msg_connection(s->client_id, epoch, last_event_id, &now);
    if (!msg) {
        return -1;
    }
    rc = queue(s, msg, strlen(msg), 1);
    free(msg);
    return rc;
}

static int resync(ws_session *s, const char *reason)
{
    char *msg = msg_typed("resync", reason);

    log_msg(LOG_INFO, "session %s: resync (%s)", s->client_id, reason);
    if (!msg) {
        ws_session_close(s, "cannot build a resync: out of memory");
        return -1;
    }
    ws_session_send_resync(s, msg, strlen(msg), NULL);
    free(msg);
    return s->state == WS_OPEN ? 0 : -1;
}

static void replay_one(const char *msg, size_t len, void *baton)
{
    queue(baton, msg, len, 1);
}

/* Queues the replay or the resync the upgrade asks for (ws_resume.c
 * decides; nothing when it resumes nothing): 0, or -1 when the session
 * has been closed. */
static int resume(ws_session *s, const hs_request *hs)
{
    ws_resume_plan p;

    switch (ws_resume_decide(s->ring, hs, s->cfg->max_queue, &p)) {
    case WS_RESUME_RESYNC:
        return resync(s, p.reason);
    case WS_RESUME_REPLAY:
        ring_replay(s->ring, &p.plan, p.channel, p.order_id, replay_one, s,
                    NULL);
        if (s->state != WS_OPEN) {
            return -1;
        }
        stats.replays += p.count;
        log_msg(LOG_DEBUG, "session %s: replayed %zu event(s) after %lld",
                s->client_id, p.count, (long long)hs->last_event);
        return 0;
    default:
        return 0;
    }
}

/* ---- wslay callbacks ---- */

static ssize_t recv_cb(wslay_event_context_ptr ctx, uint8_t *buf,
                       size_t len, int flags, void *user_data)
{
    ws_session *s = user_data;
    ssize_t n;

    (void)flags;
    if (s->pre) {
        n = (ssize_t)(s->pre_len - s->pre_off < len ? s->pre_len - s->pre_off
                                                    : len);
        memcpy(buf, s->pre + s->pre_off, (size_t)n);
        s->pre_off += (size_t)n;
        if (s->pre_off == s->pre_len) {
            free(s->pre);
            s->pre = NULL;
        }
        return n;
    }
    if (s->fd == -1) {
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    /* Pretending the socket is empty once the budget is spent keeps one
     * chatty client from holding the loop; epoll is level-triggered, so
     * the rest is read on the next wakeup. */
    if (s->read_budget == 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    if (len > s->read_budget) {
        len = s->read_budget;
    }
    do {
        n = recv(s->fd, buf, len, 0);
    } while (n == -1 && errno == EINTR);
    if (n > 0) {
        s->read_budget -= (size_t)n;
        s->last_recv_ms = loop_now_ms();
        return n;
    }
    if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
    }
    else {
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
    }
    return -1;
}

static ssize_t send_cb(wslay_event_context_ptr ctx, const uint8_t *data,
                       size_t len, int flags, void *user_data)
{
    ws_session *s = user_data;
    ssize_t n;

    (void)flags;
    if (s->fd == -1) {
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    do {
        n = send(s->fd, data, len, MSG_NOSIGNAL);
    } while (n == -1 && errno == EINTR);
    if (n >= 0) {
        return n;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
    }
    else {
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
    }
    return -1;
}

/* Clients may send {"type":"ping"} (browsers cannot send protocol pings);
 * anything else, binary frames and broken JSON included, is ignored. */
static void on_msg_recv_cb(wslay_event_context_ptr ctx,
                           const struct wslay_event_on_msg_recv_arg *arg,
                           void *user_data)
{
    ws_session *s = user_data;
    json_tokener *tok;
    json_object *o, *type;
    char *pong;

    (void)ctx;
    if (arg->opcode != WSLAY_TEXT_FRAME || s->state != WS_OPEN
        || arg->msg_length == 0) {
        return;
    }
    tok = json_tokener_new_ex(8);
    if (!tok) {
        return;
    }
    o = json_tokener_parse_ex(tok, (const char *)arg->msg,
                              (int)arg->msg_length);
    json_tokener_free(tok);
    if (!o) {
        log_msg(LOG_DEBUG, "session %s: ignoring a message that is not JSON",
                s->client_id);
        return;
    }
    if (json_object_object_get_ex(o, "type", &type)
        && json_object_is_type(type, json_type_string)
        && strcmp(json_object_get_string(type), "ping") == 0) {
        pong = msg_typed("pong", NULL);
        if (pong) {
            queue(s, pong, strlen(pong), 0);
            free(pong);
        }
    }
    json_object_put(o);
}

/* ---- I/O ---- */

/* Writes the pending HTTP answer: 1 when all of it is out, 0 when the
 * socket is full, -1 on error. */
static int flush_raw(ws_session *s)
{
    while (s->raw && s->raw_off < s->raw_len) {
        ssize_t n = send(s->fd, s->raw + s->raw_off, s->raw_len - s->raw_off,
                         MSG_NOSIGNAL);

        if (n == -1) {
            if (errno == EINTR) {
                continue;
            }
            return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
        }
        s->raw_off += (size_t)n;
    }
    free(s->raw);
    s->raw = NULL;
    return 1;
}

/* Sends what can be sent and sets the epoll mask from what wslay wants. */
void ws_session_flush(ws_session *s)
{
    int raw, mask = LOOP_NONE;

    if (s->state != WS_OPEN && s->state != WS_CLOSING) {
        return;
    }
    raw = flush_raw(s);
    if (raw == -1) {
        ws_session_close(s, "write failed");
        return;
    }
    /* Once the goodbye message is out, the close frame follows. */
    if (raw == 1 && outq_flush(s->out) != 0) {
        ws_session_close(s, "write failed");
        return;
    }
    if (wslay_event_want_read(s->ctx)) {
        mask |= LOOP_READABLE;
    }
    if (raw == 0 || wslay_event_want_write(s->ctx)) {
        mask |= LOOP_WRITABLE;
    }
    if (mask == LOOP_NONE) {
        ws_session_close(s, "closed");
    }
    else if (loop_set_file(s->loop, s->fd, mask) == -1) {
        ws_session_close(s, "cannot watch the socket");
    }
}

/* Reads what the budget allows and hands it to wslay: 0, or -1 when the
 * session is gone.  Reading can queue output behind our back (wslay pongs
 * every ping), so the cap is checked here and not only by the heartbeat: a
 * client flooding pings without reading would otherwise grow its queue by
 * a read budget per wakeup for a whole second.  One still flooding after
 * it was told to go is not waited for. */
static int session_recv(ws_session *s)
{
    int rc, over;

    s->read_budget = READ_BUDGET;
    s->in_recv = 1;
    rc = wslay_event_recv(s->ctx);
    s->in_recv = 0;
    if (rc != 0) {
        ws_session_close(s, "peer left or read failed");
        return -1;
    }
    if (s->state == WS_OPEN) {
        over = over_limit(s, 0, s->cfg->max_queue);
        if (over == 1) {
            drop_slow(s);
        }
        return over == -1 ? -1 : 0;
    }
    if (s->state == WS_CLOSING) {
        over = over_limit(s, 0, 2 * s->cfg->max_queue);
        if (over == 1) {
            ws_session_close(s, "output still growing while closing");
        }
        return over == 0 ? 0 : -1;
    }
    return 0;
}

/* The request was good: answer 101, start wslay, subscribe, greet. */
static void open_session(ws_session *s, const char *extra, size_t nextra)
{
    static const struct wslay_event_callbacks callbacks = {
        .recv_callback = recv_cb,
        .send_callback = send_cb,
        .on_msg_recv_callback = on_msg_recv_cb
    };
    hs_request *hs = s->hs;
    int64_t last;
    int n, rc;

    msg_client_id(s->client_id);
    s->raw = malloc(HS_RESPONSE_MAX);
    if (!s->raw || (n = hs_response(hs, s->raw, HS_RESPONSE_MAX)) < 0) {
        ws_session_close(s, "cannot build the 101 answer");
        return;
    }
    s->raw_len = (size_t)n;
    s->answered = hs->status;
    if (nextra) {
        s->pre = malloc(nextra);
        if (!s->pre) {
            ws_session_close(s, "out of memory");
            return;
        }
        memcpy(s->pre, extra, nextra);
        s->pre_len = nextra;
    }
    if (wslay_event_context_server_init(&s->ctx, &callbacks, s) != 0) {
        s->ctx = NULL;
        ws_session_close(s, "cannot create a wslay context");
        return;
    }
    wslay_event_config_set_max_recv_msg_length(s->ctx, s->cfg->max_message);
    s->out = outq_create(s->ctx, s->cfg->max_queue);
    if (!s->out) {
        ws_session_close(s, "out of memory");
        return;
    }
    /* Kept past the handshake (hs goes): a recycle or a revocation asks. */
    s->generation = hs->generation;
    /* No socket pins an Apache process for days: past its lifetime it is
     * recycled like an old generation's. */
    s->expires_ms = hs->max_age_ms > 0 ? loop_now_ms() + hs->max_age_ms : 0;
    if (hs->user) {
        s->user = strdup(hs->user);
        if (!s->user) {
            ws_session_close(s, "out of memory");
            return;
        }
    }

    if (hs->channel == HS_CHANNEL_ADMIN) {
        rc = hub_add_admin(s->hub, &s->member, s);
        last = hub_last_admin(s->hub);
        log_msg(LOG_DEBUG, "session %s opened on the admin channel",
                s->client_id);
    }
    else {
        rc = hub_add_order(s->hub, &s->member, s, hs->order_id);
        last = hub_last_order(s->hub, hs->order_id);
        log_msg(LOG_DEBUG, "session %s opened on order %lld", s->client_id,
                (long long)hs->order_id);
    }
    /* last_event_id is the channel's newest event (an order's creation at first),
     * even when this daemon started after it: mod_timing read it from the
     * database. */
    if (hs->newest_event > last) {
        last = hs->newest_event;
    }
    if (rc != 0) {
        ws_session_close(s, "cannot subscribe: out of memory");
        return;
    }
    stats_note_connections(hub_count_admin(s->hub)
                           + hub_count_order(s->hub));
    s->state = WS_OPEN;
    s->last_recv_ms = loop_now_ms();
    s->next_ping_ms = s->last_recv_ms + s->cfg->ping_interval_ms;
    if (queue_connection(s, hs->epoch ? hs->epoch : "", last) != 0) {
        ws_session_close(s, "cannot queue the connection message");
        return;
    }
    /* In the same handler as joining the hub: no live event can come
     * between the replay and what follows it. */
    if (resume(s, hs) != 0) {
        return;
    }
    free(s->hs);
    s->hs = NULL;
    /* Frames that came with the request are already off the socket, so
     * epoll will not report them: hand them to wslay now. */
    if (s->pre && session_recv(s) != 0) {
        return;
    }
    ws_session_flush(s);
}

static void refuse_session(ws_session *s)
{
    int n;

    if (s->hs->unverified) {
        stats_note_unverified("an upgrade");
    }
    else if (s->hs->retry_after == 0) {    /* admission logs its own */
        log_msg(LOG_INFO, "refused an upgrade with %d: %s", s->hs->status,
                s->hs->reason);
    }
    s->raw = malloc(HS_RESPONSE_MAX);
    if (!s->raw || (n = hs_response(s->hs, s->raw, HS_RESPONSE_MAX)) < 0) {
        ws_session_close(s, "cannot build the refusal");
        return;
    }
    if (n == 0) {
        /* Not sealed by mod_timing: it gets nothing, not even a refusal. */
        ws_session_close(s, "unsealed upgrade dropped");
        return;
    }
    s->raw_len = (size_t)n;
    s->answered = s->hs->status;
    free(s->hs);
    s->hs = NULL;
    s->state = WS_REFUSING;
    if (flush_raw(s) != 0) {
        ws_session_close(s, "refused");
        return;
    }
    if (loop_set_file(s->loop, s->fd, LOOP_WRITABLE) == -1) {
        ws_session_close(s, "cannot watch the socket");
    }
}

/* Hands n bytes of the upgrade to the parser and acts once it decides:
 * 1 when decided (answered, or closed), 0 when it wants more. */
static int handshake_bytes(ws_session *s, const char *buf, size_t n)
{
    size_t used;
    int rc = hs_feed(s->hs, buf, n, &used);

    if (rc == HS_DONE) {
        int admitted = s->owner->admit(s->baton, s->hs);

        if (admitted != ADMIT_OK) {
            hs_refuse_admission(s->hs, admit_status(admitted),
                                admit_code(admitted),
                                admit_retry_after(admitted));
            refuse_session(s);
            return 1;
        }
        open_session(s, buf + used, n - used);
        return 1;
    }
    if (rc == HS_ERROR) {
        refuse_session(s);
        return 1;
    }
    return 0;
}

static void read_handshake(ws_session *s)
{
    char buf[4096];

    for (;;) {
        ssize_t n = recv(s->fd, buf, sizeof buf, 0);

        if (n == 0) {
            ws_session_close(s, "peer left during the handshake");
            return;
        }
        if (n == -1) {
            if (errno == EINTR) {
                continue;
            }
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                ws_session_close(s, "read failed during the handshake");
            }
            return;
        }
        if (handshake_bytes(s, buf, (size_t)n)) {
            return;
        }
    }
}

int ws_session_adopt(ws_session *s, const char *bytes, size_t n)
{
    s->handoff = 1;
    if (!handshake_bytes(s, bytes, n)) {
        /* mod_timing sends the whole head: a part of one is not its. */
        ws_session_close(s, "handed-off upgrade cut short");
        return 0;
    }
    return s->answered;
}

void ws_session_io(ws_session *s, int mask)
{
    switch (s->state) {
    case WS_HANDSHAKE:
        if (mask & LOOP_READABLE) {
            read_handshake(s);
        }
        break;
    case WS_REFUSING:
        if (flush_raw(s) != 0) {
            ws_session_close(s, "refused");
        }
        break;
    case WS_OPEN:
    case WS_CLOSING:
        if ((mask & LOOP_READABLE) && session_recv(s) != 0) {
            return;
        }
        ws_session_flush(s);
        break;
    default:
        break;
    }
}

static void on_io(loop *l, int fd, void *data, int mask)
{
    (void)l;
    (void)fd;
    ws_session_io(data, mask);
}

/* ---- the heartbeat and shutdown ---- */

/* Called once a second by the server: handshake timeouts, pings, dead
 * tunnels, overdue goodbyes, and queues that grew behind our back (wslay
 * answers a flood of protocol pings with pongs nobody reads). */
void ws_session_tick(ws_session *s, long long now)
{
    int over;

    switch (s->state) {
    case WS_HANDSHAKE:
    case WS_REFUSING:
        if (now - s->created_ms >= HANDSHAKE_TIMEOUT_MS) {
            log_msg(LOG_INFO, "closing a connection that did not finish its "
                    "handshake in time");
            ws_session_close(s, "handshake timeout");
        }
        break;
    case WS_OPEN:
        if (now - s->last_recv_ms >= s->cfg->pong_timeout_ms) {
            log_msg(LOG_INFO, "session %s: nothing heard for %lld s, closing "
                    "a dead tunnel", s->client_id,
                    s->cfg->pong_timeout_ms / 1000);
            ws_session_close(s, "pong timeout");
        }
        else if ((over = over_limit(s, 0, s->cfg->max_queue)) == 1) {
            drop_slow(s);
        }
        else if (s->expires_ms && now >= s->expires_ms) {
            log_msg(LOG_DEBUG, "session %s reached its lifetime, recycling",
                    s->client_id);
            stats.aged++;
            begin_close(s, "reconnect", CODE_SERVICE_RESTART,
                        GOODBYE_GRACE_MS);
        }
        else if (over == 0 && now >= s->next_ping_ms) {
            s->next_ping_ms = now + s->cfg->ping_interval_ms;
            if (outq_ping(s->out) == 0) {
                mark_dirty(s);
            }
        }
        break;
    case WS_CLOSING:
        if (now >= s->deadline_ms) {
            log_msg(LOG_INFO, "session %s: goodbye not taken in time, "
                    "closing", s->client_id);
            ws_session_close(s, "close deadline");
        }
        break;
    default:
        break;
    }
}

void ws_session_shutdown(ws_session *s, long long grace_ms)
{
    long long deadline = loop_now_ms() + grace_ms;

    switch (s->state) {
    case WS_OPEN:
        begin_close(s, "shutdown", WSLAY_CODE_GOING_AWAY, grace_ms);
        break;
    case WS_CLOSING:
        if (s->deadline_ms > deadline) {
            s->deadline_ms = deadline;
        }
        break;
    default:
        ws_session_close(s, "shutting down");
        break;
    }
}

/* ---- server-initiated goodbyes ---- */

/* A handed-off socket holds no Apache worker and no Apache process: a
 * new generation is no reason for it to go. */
int ws_session_recyclable(const ws_session *s, int64_t generation)
{
    return s->state == WS_OPEN && !s->handoff && s->generation < generation;
}

void ws_session_recycle(ws_session *s)
{
    if (s->state != WS_OPEN) {
        return;
    }
    log_msg(LOG_DEBUG, "session %s: Apache generation %lld is old, "
            "recycling", s->client_id, (long long)s->generation);
    stats.recycled++;
    begin_close(s, "reconnect", CODE_SERVICE_RESTART, GOODBYE_GRACE_MS);
}

int ws_session_needs_recheck(const ws_session *s, long long before_ms)
{
    return s->state == WS_OPEN && s->user && s->created_ms <= before_ms;
}

void ws_session_recheck(ws_session *s)
{
    if (s->state != WS_OPEN) {
        return;
    }
    log_msg(LOG_DEBUG, "session %s: user %s's token to be checked again, "
            "recycling", s->client_id, s->user);
    stats.recycled++;
    begin_close(s, "reconnect", CODE_SERVICE_RESTART, GOODBYE_GRACE_MS);
}

int ws_session_of_user(const ws_session *s, const char *user)
{
    return s->state == WS_OPEN && s->user && strcmp(s->user, user) == 0;
}

void ws_session_revoke(ws_session *s)
{
    if (s->state != WS_OPEN) {
        return;
    }
    log_msg(LOG_INFO, "session %s: user %s revoked, closing", s->client_id,
            s->user);
    stats.revoked++;
    begin_close(s, "auth", WSLAY_CODE_POLICY_VIOLATION, GOODBYE_GRACE_MS);
}
