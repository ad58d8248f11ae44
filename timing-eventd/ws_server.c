/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ws_server.c -- accepts WebSocket connections and keeps every session.
 *
 * Keeps, beside each session, its links in three lists: all that are not
 * yet closed (for the heartbeat sweep and shutdown), those with freshly
 * queued output (sent from the before-sleep hook, so a fan-out to many
 * sessions costs one write per session per loop turn, not one per
 * message), and those closed during this batch of events (freed from the
 * same hook, once no handler can still hold them).  It also admits
 * sessions (admit.c counts, against the limits each sealed upgrade
 * carries), gives a session's place back when it closes, and paces the
 * goodbyes of a recycle or a recheck over their window (recycle.c).  A
 * session's own life is ws_session.c's; it reaches the server only
 * through the callbacks in session_owner.
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

#define SWEEP_MS                1000    /* heartbeat resolution */
#define ACCEPTS_PER_WAKEUP      64
/* Sessions written per loop turn at most (a few milliseconds of work). */
#define WS_FLUSH_BUDGET         1000
#define ACCEPT_PAUSE_MS         100     /* after running out of fds */

/* One session and what the server keeps about it. */
typedef struct conn conn;
struct conn {
    ws_server *srv;
    ws_session *s;
    admit_ticket ticket;        /* its place, while admitted */
    int handoff;                /* handed off by Apache, not tunnelled */
    conn *prev, *next;          /* every session not yet closed */
    conn *dirty_prev, *dirty_next;
    int dirty;
    conn *dead_next;
};

/* A run of goodbyes paced over a window: the recycle of an old
 * generation, or the recheck of the user sessions after a loss.  due and
 * act pick and close one session; key is what due compares against. */
typedef struct paced {
    ws_server *srv;
    recycle rc;
    long long timer;            /* 0: none under way */
    long long key;
    int (*due)(const ws_session *s, long long key);
    void (*act)(ws_session *s);
    void (*report)(const struct paced *p);  /* the run is over */
    const char *what;           /* for the log */
} paced;

struct ws_server {
    loop *loop;
    hub *hub;
    const ring *ring;
    ws_config cfg;
    int listen_fd;              /* -1 when not accepting */
    long long sweep_timer, resume_timer;
    /* Recycling an old generation: key is the newest generation. */
    paced recycling;
    /* Rechecking the user sessions (ws_server_recheck_users): its
     * recycle's "generation" counts the rechecks; key is the time up to
     * which the user sessions accepted are to go. */
    paced rechecking;
    admit *admit;               /* ours */
    long long last_emfile_log;
    size_t count;
    size_t handoffs;            /* of count, handed off */
    conn *sessions;
    conn *dirty, *dirty_tail;   /* to flush, oldest first */
    int budget;                 /* sessions this turn may still write */
    conn *dead;
};

static void on_accept(loop *l, int lfd, void *data, int mask);

static void mark_dirty(void *baton)
{
    conn *c = baton;
    ws_server *srv = c->srv;

    if (c->dirty) {
        return;
    }
    c->dirty = 1;
    c->dirty_next = NULL;
    c->dirty_prev = srv->dirty_tail;
    if (srv->dirty_tail) {
        srv->dirty_tail->dirty_next = c;
    }
    else {
        srv->dirty = c;
    }
    srv->dirty_tail = c;
}

static void unmark_dirty(ws_server *srv, conn *c)
{
    if (!c->dirty) {
        return;
    }
    if (c->dirty_prev) {
        c->dirty_prev->dirty_next = c->dirty_next;
    }
    else {
        srv->dirty = c->dirty_next;
    }
    if (c->dirty_next) {
        c->dirty_next->dirty_prev = c->dirty_prev;
    }
    else {
        srv->dirty_tail = c->dirty_prev;
    }
    c->dirty = 0;
    c->dirty_prev = c->dirty_next = NULL;
}

static int flush_now(void *baton)
{
    conn *c = baton;
    ws_server *srv = c->srv;

    if (srv->budget <= 0) {
        return 0;
    }
    srv->budget--;
    unmark_dirty(srv, c);
    return 1;
}

static int admit_session(void *baton, const hs_request *hs)
{
    conn *c = baton;
    ws_server *srv = c->srv;
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
    req.tunnelled = !c->handoff;
    req.tunnels = hs->limits[HS_LIMIT_TUNNEL];
    rc = admit_take(srv->admit, &req, &c->ticket);
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
            "them customers', %zu tunnelled)", admit_status(rc),
            admit_code(rc), admit_count(srv->admit),
            admit_count_customers(srv->admit),
            admit_count_tunnelled(srv->admit));
    return rc;
}

static void session_closed(void *baton)
{
    conn *c = baton;
    ws_server *srv = c->srv;

    admit_release(srv->admit, &c->ticket);
    unmark_dirty(srv, c);
    if (c->prev) {
        c->prev->next = c->next;
    }
    else {
        srv->sessions = c->next;
    }
    if (c->next) {
        c->next->prev = c->prev;
    }
    c->prev = c->next = NULL;
    srv->count--;
    if (c->handoff) {
        srv->handoffs--;
    }
    c->dead_next = srv->dead;
    srv->dead = c;
}

static const ws_session_owner session_owner = {
    .admit = admit_session,
    .dirty = mark_dirty,
    .flush_now = flush_now,
    .closed = session_closed
};

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

static void link_session(ws_server *srv, conn *c)
{
    c->next = srv->sessions;
    if (srv->sessions) {
        srv->sessions->prev = c;
    }
    srv->sessions = c;
    srv->count++;
}

static void on_accept(loop *l, int lfd, void *data, int mask)
{
    ws_server *srv = data;
    int i;

    (void)mask;
    for (i = 0; i < ACCEPTS_PER_WAKEUP; i++) {
        conn *c;
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
        c = calloc(1, sizeof *c);
        if (c) {
            c->srv = srv;
            c->s = ws_session_new(l, srv->hub, srv->ring, &srv->cfg, fd,
                                  &session_owner, c);
        }
        else {
            close(fd);
        }
        if (!c || !c->s) {
            free(c);
            log_msg(LOG_WARN, "cannot take a connection: out of memory");
            continue;
        }
        link_session(srv, c);
    }
}

int ws_server_adopt(ws_server *srv, int fd, const char *bytes, size_t n)
{
    conn *c = calloc(1, sizeof *c);

    if (c) {
        c->srv = srv;
        c->s = ws_session_new(srv->loop, srv->hub, srv->ring, &srv->cfg,
                              fd, &session_owner, c);
    }
    else {
        close(fd);
    }
    if (!c || !c->s) {
        free(c);
        log_msg(LOG_WARN, "cannot take a handed-off connection: out of "
                "memory");
        return 0;
    }
    c->handoff = 1;
    link_session(srv, c);
    srv->handoffs++;
    return ws_session_adopt(c->s, bytes, n);
}

void ws_server_accept(ws_server *srv)
{
    if (srv->listen_fd != -1) {
        on_accept(srv->loop, srv->listen_fd, srv, LOOP_READABLE);
    }
}

/* next is taken first: fn may close (unlink) its session, which is freed
 * only before sleep. */
void ws_server_each(ws_server *srv, void (*fn)(ws_session *s, void *baton),
                    void *baton)
{
    conn *c, *next;

    for (c = srv->sessions; c; c = next) {
        next = c->next;
        fn(c->s, baton);
    }
}

static void tick_one(ws_session *s, void *baton)
{
    ws_session_tick(s, *(const long long *)baton);
}

static long long sweep(loop *l, long long id, void *data)
{
    long long now = loop_now_ms();

    (void)l;
    (void)id;
    ws_server_each(data, tick_one, &now);
    return SWEEP_MS;
}

/* ---- recycling an old generation, rechecking the user sessions ---- */

static int recyclable(const ws_session *s, long long generation)
{
    return ws_session_recyclable(s, generation);
}

static void report_recycle(const paced *p)
{
    log_msg(LOG_INFO, "generation %lld: recycling done, %zu session(s) "
            "told to reconnect", (long long)p->rc.generation, p->rc.done);
}

static void report_recheck(const paced *p)
{
    log_msg(LOG_INFO, "recheck done: %zu user session(s) told to "
            "reconnect", p->rc.done);
}

static void paced_init(paced *p, ws_server *srv, long long spread_ms,
                       int (*due)(const ws_session *, long long),
                       void (*act)(ws_session *),
                       void (*report)(const paced *), const char *what)
{
    p->srv = srv;
    recycle_init(&p->rc, spread_ms);
    p->due = due;
    p->act = act;
    p->report = report;
    p->what = what;
}

/* Sessions due now. */
static size_t paced_count(const paced *p)
{
    const conn *c;
    size_t n = 0;

    for (c = p->srv->sessions; c; c = c->next) {
        n += p->due(c->s, p->key) != 0;
    }
    return n;
}

/* Closes up to quota of the sessions due; returns how many.  Closing does
 * not take a session off the list (it moves to WS_CLOSING), and one that
 * fails to queue is unlinked but freed only before sleep: taking next
 * first is enough. */
static size_t paced_some(paced *p, size_t quota)
{
    conn *c, *next;
    size_t n = 0;

    for (c = p->srv->sessions; c && n < quota; c = next) {
        next = c->next;
        if (p->due(c->s, p->key)) {
            p->act(c->s);
            n++;
        }
    }
    return n;
}

/* One slice: as many as keep pace with the window.  Fewer found than due
 * means none is left; past the window, all that are left go. */
static long long on_paced_timer(loop *l, long long id, void *data)
{
    paced *p = data;
    long long now = loop_now_ms();
    size_t quota = recycle_quota(&p->rc, now), n;

    (void)l;
    (void)id;
    n = quota ? paced_some(p, quota) : 0;
    recycle_note(&p->rc, n, n < quota);
    if (!p->rc.running) {
        p->report(p);
        p->timer = 0;
        return LOOP_NOMORE;
    }
    return recycle_next_delay(&p->rc, now);
}

/* A run was started (recycle_start) with `due` sessions: spread over the
 * window on a timer, or, without a window or a timer, all at once.
 * Returns due when spread, else how many went now. */
static size_t paced_run(paced *p, size_t due, long long now)
{
    loop *l = p->srv->loop;
    size_t n;

    if (p->rc.spread_ms > 0 && due > 0) {
        if (p->timer) {
            return due;     /* the running timer follows the new run */
        }
        p->timer = loop_add_timer(l, recycle_next_delay(&p->rc, now),
                                  on_paced_timer, p);
        if (p->timer != -1) {
            return due;
        }
        p->timer = 0;
        log_msg(LOG_WARN, "no timer to spread the %s: all at once", p->what);
    }
    n = paced_some(p, SIZE_MAX);
    recycle_note(&p->rc, n, 1);
    if (p->timer) {
        loop_del_timer(l, p->timer);
        p->timer = 0;
    }
    return n;
}

static void paced_stop(paced *p)
{
    if (p->timer) {
        loop_del_timer(p->srv->loop, p->timer);
        p->timer = 0;
    }
    recycle_note(&p->rc, 0, 1);
}

ws_server *ws_server_create(loop *l, hub *h, const ring *r,
                            const ws_config *cfg)
{
    ws_server *srv = calloc(1, sizeof *srv);

    if (!srv) {
        return NULL;
    }
    srv->loop = l;
    srv->budget = WS_FLUSH_BUDGET;
    srv->hub = h;
    srv->ring = r;
    srv->cfg = *cfg;
    srv->listen_fd = -1;
    paced_init(&srv->recycling, srv, cfg->recycle_spread_ms, recyclable,
               ws_session_recycle, report_recycle, "recycling");
    paced_init(&srv->rechecking, srv, cfg->recycle_spread_ms,
               ws_session_needs_recheck, ws_session_recheck, report_recheck,
               "recheck");
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

int ws_server_new_generation(ws_server *srv, int64_t generation)
{
    paced *p = &srv->recycling;
    long long now = loop_now_ms(), key = p->key;
    size_t older;

    /* Counted against the new generation; a run under way keeps its own
     * unless this one is newer. */
    p->key = generation;
    older = paced_count(p);
    if (!recycle_start(&p->rc, generation, older, now)) {
        p->key = key;
        log_msg(LOG_DEBUG, "Apache generation %lld is not new, ignored",
                (long long)generation);
        return 0;
    }
    log_msg(LOG_INFO, "Apache generation %lld: recycling %zu older "
            "session(s) over %lld ms", (long long)generation, older,
            p->rc.spread_ms);
    paced_run(p, older, now);
    return 1;
}

size_t ws_server_revoke_user(ws_server *srv, const char *user)
{
    conn *c, *next;
    size_t n = 0;

    for (c = srv->sessions; c; c = next) {
        next = c->next;
        if (ws_session_of_user(c->s, user)) {
            ws_session_revoke(c->s);
            n++;
        }
    }
    return n;
}

size_t ws_server_recheck_users(ws_server *srv)
{
    paced *p = &srv->rechecking;
    long long now = loop_now_ms();
    size_t due;

    /* Sessions accepted from now on pass mod_timing's check after the
     * loss; a run under way starts again toward all that are due now. */
    p->key = now;
    due = paced_count(p);
    recycle_start(&p->rc, p->rc.generation + 1, due, now);
    if (due == 0) {
        recycle_note(&p->rc, 0, 1);
        return 0;
    }
    return paced_run(p, due, now);
}

void ws_server_shutdown(ws_server *srv, long long grace_ms)
{
    conn *c, *next;

    paced_stop(&srv->recycling);
    paced_stop(&srv->rechecking);
    for (c = srv->sessions; c; c = next) {
        next = c->next;
        ws_session_shutdown(c->s, grace_ms);
    }
}

size_t ws_server_sessions(const ws_server *srv)
{
    return srv->count;
}

size_t ws_server_handoffs(const ws_server *srv)
{
    return srv->handoffs;
}

size_t ws_server_stop_handoffs(ws_server *srv, long long grace_ms)
{
    conn *c, *next;
    size_t n = 0;

    for (c = srv->sessions; c; c = next) {
        next = c->next;
        if (c->handoff) {
            ws_session_shutdown(c->s, grace_ms);
            n++;
        }
    }
    return n;
}

void ws_server_before_sleep(ws_server *srv)
{
    conn *c;

    /* Oldest first, and no more than the budget in one turn (what
     * sessions wrote at once as messages were queued spent part of it):
     * an event for 10,000 sockets is written over several turns, and the
     * events socket is read between them.  Flushing may close a session:
     * it then moves to the dead list, which is emptied only after this. */
    while (srv->budget-- > 0 && (c = srv->dirty) != NULL) {
        unmark_dirty(srv, c);
        ws_session_flush(c->s);
    }
    srv->budget = WS_FLUSH_BUDGET;
    if (srv->dirty) {
        loop_more_work(srv->loop);
    }
    while ((c = srv->dead) != NULL) {
        srv->dead = c->dead_next;
        ws_session_free(c->s);
        free(c);
    }
}

void ws_server_destroy(ws_server *srv)
{
    if (!srv) {
        return;
    }
    ws_server_stop_accepting(srv);
    while (srv->sessions) {
        ws_session_close(srv->sessions->s, "daemon exiting");
    }
    ws_server_before_sleep(srv);
    paced_stop(&srv->recycling);
    paced_stop(&srv->rechecking);
    loop_del_timer(srv->loop, srv->sweep_timer);
    admit_destroy(srv->admit);
    free(srv);
}
