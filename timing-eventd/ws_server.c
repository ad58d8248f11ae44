/*
 * ws_server.c -- accepts WebSocket connections and keeps every session.
 *
 * Holds three lists of sessions: all that are not yet closed (for the
 * heartbeat sweep and shutdown), those with freshly queued output (sent
 * from the before-sleep hook, so a fan-out to many sessions costs one
 * write per session per loop turn, not one per message), and those closed
 * during this batch of events (freed from the same hook, once no handler
 * can still hold them).  It also admits sessions (admit.c counts, against
 * the limits each sealed upgrade carries), and gives a session's place
 * back when it closes.  A session's own life is ws_session.c's.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "admit.h"
#include "log.h"
#include "recycle.h"
#include "stats.h"
#include "ws_server.h"
#include "ws_session.h"

#define SWEEP_MS                1000    /* heartbeat resolution */
#define ACCEPTS_PER_WAKEUP      64
#define ACCEPT_PAUSE_MS         100     /* after running out of fds */

struct ws_server {
    loop *loop;
    hub *hub;
    const ring *ring;
    ws_config cfg;
    int listen_fd;              /* -1 when not accepting */
    long long sweep_timer, resume_timer;
    long long recycle_timer;    /* 0: no recycling under way */
    recycle rc;
    admit *admit;               /* ours */
    /* Rechecking the user sessions (ws_server_recheck_users): paced by a
     * recycle of its own, whose "generation" counts the rechecks; the
     * sessions to go are the user sessions accepted up to recheck_ms. */
    long long recheck_timer;    /* 0: none under way */
    recycle recheck;
    long long recheck_ms;
    long long last_emfile_log;
    size_t count;
    ws_session *sessions;
    ws_session *dirty;
    ws_session *dead;
};

static void on_accept(loop *l, int lfd, void *data, int mask);

void ws_server_mark_dirty(ws_server *srv, ws_session *s)
{
    if (s->dirty) {
        return;
    }
    s->dirty = 1;
    s->dirty_prev = NULL;
    s->dirty_next = srv->dirty;
    if (srv->dirty) {
        srv->dirty->dirty_prev = s;
    }
    srv->dirty = s;
}

static void unmark_dirty(ws_server *srv, ws_session *s)
{
    if (!s->dirty) {
        return;
    }
    if (s->dirty_prev) {
        s->dirty_prev->dirty_next = s->dirty_next;
    }
    else {
        srv->dirty = s->dirty_next;
    }
    if (s->dirty_next) {
        s->dirty_next->dirty_prev = s->dirty_prev;
    }
    s->dirty = 0;
    s->dirty_prev = s->dirty_next = NULL;
}

int ws_server_admit(ws_server *srv, ws_session *s, const hs_request *hs)
{
    admit_request req;
    int rc;

    req.staff = hs->role && (strcmp(hs->role, "staff") == 0
                             || strcmp(hs->role, "admin") == 0);
    req.order_id = hs->channel == HS_CHANNEL_ORDER ? hs->order_id : 0;
    req.client = hs->client;
    req.sockets = hs->limits[HS_LIMIT_SOCKETS];
    req.staff_reserve = hs->limits[HS_LIMIT_STAFF];
    req.per_order = hs->limits[HS_LIMIT_ORDER];
    req.per_address = hs->limits[HS_LIMIT_ADDRESS];
    rc = admit_take(srv->admit, &req, &s->ticket);
    if (rc == ADMIT_OK) {
        return ADMIT_OK;
    }
    if (admit_status(rc) == 429) {
        stats.refused_share++;
    }
    else {
        stats.refused_full++;
    }
    log_msg(LOG_INFO, "upgrade refused with %d: %s (%zu sockets, %zu of "
            "them customers')", admit_status(rc), admit_code(rc),
            admit_count(srv->admit), admit_count_customers(srv->admit));
    return rc;
}

void ws_server_closed(ws_server *srv, ws_session *s)
{
    admit_release(srv->admit, &s->ticket);
    unmark_dirty(srv, s);
    if (s->prev) {
        s->prev->next = s->next;
    }
    else {
        srv->sessions = s->next;
    }
    if (s->next) {
        s->next->prev = s->prev;
    }
    s->prev = s->next = NULL;
    srv->count--;
    s->dead_next = srv->dead;
    srv->dead = s;
}

static long long resume_accepting(loop *l, long long id, void *data)
{
    ws_server *srv = data;

    (void)id;
    srv->resume_timer = 0;
    if (srv->listen_fd != -1
        && loop_add_file(l, srv->listen_fd, LOOP_READABLE, on_accept,
                         srv) == -1) {
        log_msg(LOG_ERROR, "cannot watch the WebSocket socket again: %s",
                strerror(errno));
    }
    return LOOP_NOMORE;
}

/* Out of fds (or kernel memory): the listener would stay readable and
 * spin the loop, so stop watching it for a moment instead. */
static void pause_accepting(ws_server *srv, int err)
{
    long long now = loop_now_ms();

    if (now - srv->last_emfile_log >= 10000) {
        log_msg(LOG_WARN, "cannot accept: %s; pausing", strerror(err));
        srv->last_emfile_log = now;
    }
    if (srv->resume_timer) {
        return;
    }
    srv->resume_timer = loop_add_timer(srv->loop, ACCEPT_PAUSE_MS,
                                       resume_accepting, srv);
    if (srv->resume_timer == -1) {
        srv->resume_timer = 0;      /* keep accepting rather than stop */
        return;
    }
    loop_del_file(srv->loop, srv->listen_fd, LOOP_READABLE);
}

static void on_accept(loop *l, int lfd, void *data, int mask)
{
    ws_server *srv = data;
    int i;

    (void)mask;
    for (i = 0; i < ACCEPTS_PER_WAKEUP; i++) {
        ws_session *s;
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (fd == -1) {
            if (errno == EINTR || errno == ECONNABORTED) {
                continue;
            }
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS
                || errno == ENOMEM) {
                pause_accepting(srv, errno);
            }
            else if (errno != EAGAIN && errno != EWOULDBLOCK) {
                log_msg(LOG_WARN, "accept: %s", strerror(errno));
            }
            return;
        }
        s = ws_session_new(srv, l, srv->hub, srv->ring, &srv->cfg, fd);
        if (!s) {
            log_msg(LOG_WARN, "cannot take a connection: out of memory");
            continue;
        }
        s->next = srv->sessions;
        if (srv->sessions) {
            srv->sessions->prev = s;
        }
        srv->sessions = s;
        srv->count++;
    }
}

static long long sweep(loop *l, long long id, void *data)
{
    ws_server *srv = data;
    ws_session *s, *next;
    long long now = loop_now_ms();

    (void)l;
    (void)id;
    /* next is taken first: a tick may close (unlink) its session. */
    for (s = srv->sessions; s; s = next) {
        next = s->next;
        ws_session_tick(s, now);
    }
    return SWEEP_MS;
}

ws_server *ws_server_create(loop *l, hub *h, const ring *r,
                            const ws_config *cfg)
{
    ws_server *srv = calloc(1, sizeof *srv);

    if (!srv) {
        return NULL;
    }
    srv->loop = l;
    srv->hub = h;
    srv->ring = r;
    srv->cfg = *cfg;
    srv->listen_fd = -1;
    recycle_init(&srv->rc, cfg->recycle_spread_ms);
    recycle_init(&srv->recheck, cfg->recycle_spread_ms);
    srv->admit = admit_create();
    srv->sweep_timer = srv->admit ? loop_add_timer(l, SWEEP_MS, sweep, srv)
                                  : -1;
    if (srv->sweep_timer == -1) {
        admit_destroy(srv->admit);
        free(srv);
        return NULL;
    }
    return srv;
}

int ws_server_listen(ws_server *srv, int fd)
{
    if (loop_add_file(srv->loop, fd, LOOP_READABLE, on_accept, srv) == -1) {
        return -1;
    }
    srv->listen_fd = fd;
    return 0;
}

void ws_server_stop_accepting(ws_server *srv)
{
    if (srv->listen_fd == -1) {
        return;
    }
    loop_del_file(srv->loop, srv->listen_fd, LOOP_READABLE);
    if (srv->resume_timer) {
        loop_del_timer(srv->loop, srv->resume_timer);
        srv->resume_timer = 0;
    }
    srv->listen_fd = -1;
}

/* ---- recycling an old generation, revoking a user ---- */

/* Says "reconnect" to up to quota sessions of a generation older than the
 * newest; returns how many.  Closing does not take a session off the
 * list (it moves to WS_CLOSING), and one that fails to queue is unlinked
 * but freed only before sleep: taking next first is enough. */
static size_t recycle_some(ws_server *srv, size_t quota)
{
    ws_session *s, *next;
    size_t n = 0;

    for (s = srv->sessions; s && n < quota; s = next) {
        next = s->next;
        if (ws_session_recyclable(s, srv->rc.generation)) {
            ws_session_recycle(s);
            n++;
        }
    }
    return n;
}

/* One slice: as many as keep pace with the window.  Fewer found than due
 * means none is left; past the window, all that are left go. */
static long long on_recycle_timer(loop *l, long long id, void *data)
{
    ws_server *srv = data;
    long long now = loop_now_ms();
    size_t quota = recycle_quota(&srv->rc, now), n;

    (void)l;
    (void)id;
    n = quota ? recycle_some(srv, quota) : 0;
    recycle_note(&srv->rc, n, n < quota);
    if (!srv->rc.running) {
        log_msg(LOG_INFO, "generation %lld: recycling done, %zu session(s) "
                "told to reconnect", (long long)srv->rc.generation,
                srv->rc.done);
        srv->recycle_timer = 0;
        return LOOP_NOMORE;
    }
    return recycle_next_delay(&srv->rc, now);
}

int ws_server_new_generation(ws_server *srv, int64_t generation)
{
    ws_session *s;
    size_t older = 0, n;
    long long now = loop_now_ms();

    for (s = srv->sessions; s; s = s->next) {
        older += ws_session_recyclable(s, generation);
    }
    if (!recycle_start(&srv->rc, generation, older, now)) {
        log_msg(LOG_DEBUG, "Apache generation %lld is not new, ignored",
                (long long)generation);
        return 0;
    }
    log_msg(LOG_INFO, "Apache generation %lld: recycling %zu older "
            "session(s) over %lld ms", (long long)generation, older,
            srv->rc.spread_ms);
    if (srv->rc.spread_ms > 0 && older > 0) {
        if (srv->recycle_timer) {
            return 1;       /* the running timer follows the new run */
        }
        srv->recycle_timer = loop_add_timer(srv->loop,
                                            recycle_next_delay(&srv->rc, now),
                                            on_recycle_timer, srv);
        if (srv->recycle_timer != -1) {
            return 1;
        }
        srv->recycle_timer = 0;
        log_msg(LOG_WARN, "no timer to spread the recycling: all at once");
    }
    n = recycle_some(srv, SIZE_MAX);
    recycle_note(&srv->rc, n, 1);
    if (srv->recycle_timer) {
        loop_del_timer(srv->loop, srv->recycle_timer);
        srv->recycle_timer = 0;
    }
    return 1;
}

size_t ws_server_revoke_user(ws_server *srv, const char *user)
{
    ws_session *s, *next;
    size_t n = 0;

    for (s = srv->sessions; s; s = next) {
        next = s->next;
        if (ws_session_of_user(s, user)) {
            ws_session_revoke(s);
            n++;
        }
    }
    return n;
}

/* ---- rechecking the user sessions after a loss ---- */

static size_t recheck_some(ws_server *srv, size_t quota)
{
    ws_session *s, *next;
    size_t n = 0;

    for (s = srv->sessions; s && n < quota; s = next) {
        next = s->next;
        if (ws_session_needs_recheck(s, srv->recheck_ms)) {
            ws_session_recheck(s);
            n++;
        }
    }
    return n;
}

static long long on_recheck_timer(loop *l, long long id, void *data)
{
    ws_server *srv = data;
    long long now = loop_now_ms();
    size_t quota = recycle_quota(&srv->recheck, now), n;

    (void)l;
    (void)id;
    n = quota ? recheck_some(srv, quota) : 0;
    recycle_note(&srv->recheck, n, n < quota);
    if (!srv->recheck.running) {
        log_msg(LOG_INFO, "recheck done: %zu user session(s) told to "
                "reconnect", srv->recheck.done);
        srv->recheck_timer = 0;
        return LOOP_NOMORE;
    }
    return recycle_next_delay(&srv->recheck, now);
}

size_t ws_server_recheck_users(ws_server *srv)
{
    ws_session *s;
    size_t due = 0, n;
    long long now = loop_now_ms();

    /* Sessions accepted from now on pass mod_timing's check after the
     * loss; a run under way starts again toward all that are due now. */
    srv->recheck_ms = now;
    for (s = srv->sessions; s; s = s->next) {
        due += ws_session_needs_recheck(s, now);
    }
    recycle_start(&srv->recheck, srv->recheck.generation + 1, due, now);
    if (due == 0) {
        recycle_note(&srv->recheck, 0, 1);
        return 0;
    }
    if (srv->recheck.spread_ms > 0) {
        if (srv->recheck_timer) {
            return due;     /* the running timer follows the new run */
        }
        srv->recheck_timer = loop_add_timer(
            srv->loop, recycle_next_delay(&srv->recheck, now),
            on_recheck_timer, srv);
        if (srv->recheck_timer != -1) {
            return due;
        }
        srv->recheck_timer = 0;
        log_msg(LOG_WARN, "no timer to spread the recheck: all at once");
    }
    n = recheck_some(srv, SIZE_MAX);
    recycle_note(&srv->recheck, n, 1);
    if (srv->recheck_timer) {
        loop_del_timer(srv->loop, srv->recheck_timer);
        srv->recheck_timer = 0;
    }
    return n;
}

static void stop_recycling(ws_server *srv)
{
    if (srv->recycle_timer) {
        loop_del_timer(srv->loop, srv->recycle_timer);
        srv->recycle_timer = 0;
    }
    recycle_note(&srv->rc, 0, 1);
    if (srv->recheck_timer) {
        loop_del_timer(srv->loop, srv->recheck_timer);
        srv->recheck_timer = 0;
    }
    recycle_note(&srv->recheck, 0, 1);
}

void ws_server_shutdown(ws_server *srv, long long grace_ms)
{
    ws_session *s, *next;

    stop_recycling(srv);

    for (s = srv->sessions; s; s = next) {
        next = s->next;
        ws_session_shutdown(s, grace_ms);
    }
}

size_t ws_server_sessions(const ws_server *srv)
{
    return srv->count;
}

void ws_server_before_sleep(ws_server *srv)
{
    ws_session *s;

    /* Flushing may close a session: it then moves to the dead list, which
     * is emptied only after this. */
    while ((s = srv->dirty) != NULL) {
        unmark_dirty(srv, s);
        ws_session_flush(s);
    }
    while ((s = srv->dead) != NULL) {
        srv->dead = s->dead_next;
        ws_session_free(s);
    }
}

void ws_server_destroy(ws_server *srv)
{
    if (!srv) {
        return;
    }
    ws_server_stop_accepting(srv);
    while (srv->sessions) {
        ws_session_close(srv->sessions, "daemon exiting");
    }
    ws_server_before_sleep(srv);
    stop_recycling(srv);
    loop_del_timer(srv->loop, srv->sweep_timer);
    admit_destroy(srv->admit);
    free(srv);
}
