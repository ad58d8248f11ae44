/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tm_upgrade.c -- who may open a WebSocket, decided before Apache tunnels
 * the request to timing-eventd.
 *
 *   /admin       staff or admin token (?token= or "timing.v1, bearer.<JWT>")
 *   /orders/:id  that order's tracking token (?tracking_token= or
 *                "timing.v1, tracking.<t>"), its owner's token, a staff
 *                token, or its tracking cookie from a same-origin page
 *
 * Credentials stop here: the query string and the credential subprotocol
 * are removed, and the daemon is told role, user, order, resume point,
 * the client's address and the admission limits in headers only
 * mod_timing can seal (tm_notify_seal_upgrade).  How many sockets there
 * may be is the daemon's decision: it sees them all.  The request of an
 * upgrade lives as long as its socket, so database work borrows a
 * connection and returns it at once.
 *
 * Finding the credentials and the same-origin rule for the cookie are
 * this file's; whether they show the order is tm_access.c's, the same
 * decision REST makes (with the rule that an identity decides alone).
 */
#include "mod_timing.h"
#include "tm_upgrade.h"
#include "tm_access.h"
#include "tm_auth.h"
#include "tm_db.h"
#include "tm_notify.h"
#include "tm_order_store.h"
#include "tm_query.h"
#include "tm_users.h"
#include "tm_valid.h"
#include "timing_proto.h"

#include "apr_lib.h"
#include "apr_strings.h"
#include "ap_mpm.h"
#include "scoreboard.h"
#include "http_protocol.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>

APLOG_USE_MODULE(timing);

#define TM_ORDER_CHANNEL "/orders/"     /* then the order id, nothing more */

/* What the upgrade offered, once credentials are taken out of it. */
typedef struct offer {
    const char *bearer;         /* ?token= or bearer.<JWT> */
    const char *tracking;       /* ?tracking_token= or tracking.<t> */
} offer;

static int collect_timing_header(void *rec, const char *key,
                                 const char *value)
{
    (void)value;
    if (strncasecmp(key, TP_HDR_PREFIX, sizeof TP_HDR_PREFIX - 1) == 0) {
        *(const char **)apr_array_push(rec) = key;
    }
    return 1;
}

/* Only mod_timing may speak to the daemon in X-Timing-* headers. */
static void strip_client_headers(request_rec *r)
{
    apr_array_header_t *names = apr_array_make(r->pool, 2,
                                               sizeof(const char *));
    int i;

    apr_table_do(collect_timing_header, names, r->headers_in, NULL);
    for (i = 0; i < names->nelts; i++) {
        apr_table_unset(r->headers_in, APR_ARRAY_IDX(names, i, const char *));
    }
}

/* Reads the credentials from the query and the subprotocol list, and
 * leaves Sec-WebSocket-Protocol holding timing.v1 alone (if offered). */
static void take_credentials(request_rec *r, apr_table_t *query, offer *o)
{
    const char *offered = apr_table_get(r->headers_in,
                                        "Sec-WebSocket-Protocol");
    char *list, *item, *state;
    int timing_v1 = 0;

    o->bearer = apr_table_get(query, "token");
    o->tracking = apr_table_get(query, "tracking_token");
    if (!offered) {
        return;
    }
    list = apr_pstrdup(r->pool, offered);
    for (item = apr_strtok(list, ", \t", &state); item;
         item = apr_strtok(NULL, ", \t", &state)) {
        if (!strcmp(item, TP_SUBPROTOCOL)) {
            timing_v1 = 1;
        }
        else if (!strncmp(item, "bearer.", 7) && !o->bearer) {
            o->bearer = item + 7;
        }
        else if (!strncmp(item, "tracking.", 9) && !o->tracking) {
            o->tracking = item + 9;
        }
    }
    if (timing_v1) {
        apr_table_set(r->headers_in, "Sec-WebSocket-Protocol",
                       TP_SUBPROTOCOL);
    }
    else {
        apr_table_unset(r->headers_in, "Sec-WebSocket-Protocol");
    }
}

static int refuse(request_rec *r, int status, const char *why)
{
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, TMLOGNO(00205)
                  "WebSocket upgrade refused (%d): %s", status, why);
    if (status == HTTP_SERVICE_UNAVAILABLE) {
        apr_table_setn(r->err_headers_out, "Retry-After", "10");
    }
    return status;
}

/* ?last_event_id=N&epoch=E: where a reconnecting client resumes.  The
 * epoch is left in *epoch for guard() to compare with the database's:
 * any value, whatever its characters or length (the request line limit
 * bounds it), is either that epoch or another history, and another
 * history is a resync on an open socket, never a refusal that a naive
 * client would retry for ever. */
static int resume_point(request_rec *r, apr_table_t *query,
                        const char **epoch)
{
    long last;

    if (!tm_query_int(query, "last_event_id", 0, 2147483647L * 2, -1,
                      &last)) {
        return refuse(r, HTTP_BAD_REQUEST, "bad last_event_id");
    }
    if (last >= 0) {
        apr_table_set(r->headers_in, TP_HDR_LAST_EVENT,
                       apr_ltoa(r->pool, last));
    }
    *epoch = apr_table_get(query, "epoch");
    return OK;
}

static int same_origin(request_rec *r)
{
    const char *origin = apr_table_get(r->headers_in, "Origin");
    const char *host = apr_table_get(r->headers_in, "Host");
    const char *h;

    if (!origin || !host || !(h = strstr(origin, "://"))) {
        return 0;
    }
    return !strcasecmp(h + 3, host);
}

/* The order channel's credential, against the order itself. */
static int guard_order(request_rec *r, const tm_srv_conf *conf,
                       const offer *o, const tm_identity *who)
{
    const char *id = r->uri + sizeof TM_ORDER_CHANNEL - 1, *cookie = NULL;
    const char *last_event = NULL;
    unsigned long n;
    ap_dbd_t *dbd;
    tm_order *order = NULL;
    tm_sight_claim claim = { 0 };
    apr_status_t rv;

    if (strncmp(r->uri, TM_ORDER_CHANNEL, sizeof TM_ORDER_CHANNEL - 1)
        || !tm_parse_id(id, &n)) {
        return refuse(r, HTTP_NOT_FOUND, "no such order");
    }
    /* The cookie is read only when nothing else was offered: a token
     * offered outright is the one judged. */
    if (!o->bearer && !o->tracking) {
        cookie = tm_cookie_value(r->pool,
                                 apr_table_get(r->headers_in, "Cookie"),
                                 apr_pstrcat(r->pool, TM_TRACKING_COOKIE, id,
                                             NULL));
        if (!cookie) {
            return refuse(r, HTTP_UNAUTHORIZED, "no credential");
        }
        /* A cookie rides along with any page's request: only a page of
         * this site may use it. */
        if (!same_origin(r)) {
            return refuse(r, HTTP_FORBIDDEN, "cookie from another origin");
        }
    }
    dbd = tm_db_borrow(r);
    if (!dbd) {
        return refuse(r, HTTP_SERVICE_UNAVAILABLE, "no database");
    }
    rv = tm_order_load(r, dbd, id, &order);
    if (rv == APR_SUCCESS && order) {
        last_event = tm_order_last_event(r, dbd, id, &rv);
    }
    tm_db_release(r, dbd);
    if (rv != APR_SUCCESS) {
        return refuse(r, HTTP_SERVICE_UNAVAILABLE, "no database");
    }
    if (!order) {
        return refuse(r, HTTP_NOT_FOUND, "no such order");
    }
    claim.tracking = o->tracking;
    claim.cookie = cookie;
    /* A token that names someone decides alone: a customer signed in as
     * another is refused even with this order's tracking token. */
    claim.identity_decides = 1;
    if (who) {
        claim.role = who->role;
        claim.user_id = who->user_id;
    }
    if (tm_order_sight(r->pool, order->user_id, order->tracking_hash, &claim)
        == TM_SEES_NOTHING) {
        return refuse(r, HTTP_NOT_FOUND, who ? "not this customer's order"
                                             : "tracking token does not "
                                               "match");
    }
    apr_table_set(r->headers_in, TP_HDR_ORDER, id);
    if (last_event) {
        apr_table_set(r->headers_in, TP_HDR_NEWEST_EVENT, last_event);
    }
    (void)conf;
    return OK;
}

/* This socket's lifetime in ms: the configured one less up to a fifth at
 * random, so sockets opened together (after a reload) do not all come
 * back together. */
static apr_int64_t socket_lifetime_ms(const tm_srv_conf *conf)
{
    apr_int64_t ms = apr_time_as_msec(conf->socket_lifetime);
    apr_uint32_t dice = 0;

    if (ms <= 0) {
        return 0;
    }
    if (apr_generate_random_bytes((unsigned char *)&dice, sizeof dice)
        != APR_SUCCESS) {
        dice = 0;
    }
    return ms - (apr_int64_t)((double)ms / 5 * (dice / 4294967296.0));
}

/* The database's epoch, and for the staff channel its newest event (the
 * daemon names it in `connection` and knows a resume from before it that
 * it cannot replay); NULL when the database does not answer. */
static const char *current_epoch(request_rec *r, tm_ws_channel channel,
                                 const char **newest)
{
    ap_dbd_t *dbd = tm_db_borrow(r);
    apr_status_t rv = APR_EGENERAL;
    const char *epoch = dbd ? tm_db_value(r, dbd, TM_Q_EPOCH_GET, 0, NULL,
                                          &rv)
                            : NULL;

    *newest = NULL;
    if (epoch && channel == TM_WS_ADMIN) {
        *newest = tm_db_value(r, dbd, TM_Q_LAST_EVENT, 0, NULL, &rv);
        if (rv != APR_SUCCESS) {
            epoch = NULL;
        }
    }
    tm_db_release(r, dbd);
    return epoch;
}

static int guard(request_rec *r, const tm_srv_conf *conf,
                 tm_ws_channel channel)
{
    apr_table_t *query;
    const char *epoch, *newest, *resume_epoch = NULL, *why = NULL;
    tm_identity *who = NULL;
    offer o;
    int status;

    strip_client_headers(r);
    if (tm_query_parse(r->pool, r->args, &query) != APR_SUCCESS) {
        return refuse(r, HTTP_BAD_REQUEST, "malformed query string");
    }
    take_credentials(r, query, &o);
    /* The query string (with any credential) goes no further. */
    r->args = NULL;
    if ((status = resume_point(r, query, &resume_epoch)) != OK) {
        return status;
    }
    if (o.bearer) {
        if (tm_auth_check_token(r->pool, conf, o.bearer, &who, &why)
            != TM_CRED_OK) {
            return refuse(r, HTTP_UNAUTHORIZED, why);
        }
        ap_dbd_t *dbd = tm_db_borrow(r);

        status = tm_users_refresh(r, dbd, who);
        tm_db_release(r, dbd);
        if (status != OK) {
            return refuse(r, status, status == HTTP_UNAUTHORIZED
                                     ? "token's user is disabled or gone"
                                     : "no database");
        }
    }
    if (channel == TM_WS_ADMIN) {
        if (!who) {
            return refuse(r, HTTP_UNAUTHORIZED, "no credential");
        }
        if (!tm_role_is_staff(who->role)) {
            return refuse(r, HTTP_FORBIDDEN, "role may not open /admin");
        }
    }
    else if ((status = guard_order(r, conf, &o, who)) != OK) {
        return status;
    }
    epoch = current_epoch(r, channel, &newest);
    if (!epoch) {
        return refuse(r, HTTP_SERVICE_UNAVAILABLE, "no database");
    }
    apr_table_set(r->headers_in, TP_HDR_CHANNEL,
                   channel == TM_WS_ADMIN ? "admin" : "order");
    apr_table_set(r->headers_in, TP_HDR_ROLE, who ? who->role : "customer");
    if (who) {
        apr_table_set(r->headers_in, TP_HDR_USER, who->user_id);
    }
    apr_table_set(r->headers_in, TP_HDR_EPOCH, epoch);
    /* Only the verdict reaches the daemon: a client's text is never
     * copied into a trusted header. */
    if (resume_epoch) {
        apr_table_setn(r->headers_in, TP_HDR_RESUME_EPOCH,
                       strcmp(resume_epoch, epoch) ? TP_RESUME_OTHER
                                                   : TP_RESUME_SAME);
    }
    if (newest) {
        apr_table_set(r->headers_in, TP_HDR_NEWEST_EVENT, newest);
    }
    /* Which Apache generation tunnels it: after a graceful restart the
     * daemon recycles the old generation's sockets. */
    apr_table_set(r->headers_in, TP_HDR_GENERATION,
                  apr_psprintf(r->pool, "%" APR_INT64_T_FMT,
                               tm_upgrade_generation()));
    apr_table_set(r->headers_in, TP_HDR_MAX_AGE,
                  apr_psprintf(r->pool, "%" APR_INT64_T_FMT,
                               socket_lifetime_ms(conf)));
    /* The address mod_remoteip vouches for, and the limits to admit it
     * by (the daemon counts; httpd.conf says how many). */
    apr_table_set(r->headers_in, TP_HDR_CLIENT, r->useragent_ip);
    apr_table_set(r->headers_in, TP_HDR_LIMITS,
                  apr_psprintf(r->pool, "%d %d %d %d %d", conf->max_sockets,
                               conf->staff_sockets, conf->order_sockets,
                               conf->address_sockets, conf->tunnel_sockets));
    if (tm_notify_seal_upgrade(r, conf) != APR_SUCCESS) {
        return refuse(r, HTTP_SERVICE_UNAVAILABLE, "cannot seal the upgrade");
    }
    return OK;
}

apr_int64_t tm_upgrade_generation(void)
{
    int generation = 0;
    apr_int64_t started = ap_scoreboard_image
        ? apr_time_sec(ap_scoreboard_image->global->restart_time) : 0;

    ap_mpm_query(AP_MPMQ_GENERATION, &generation);
    return started * 1000000 + generation % 1000000;
}

/* The request of an upgrade, and its pool, live as long as the socket:
 * everything the checks allocate (rows, JSON, buffers) goes into a
 * scratch pool given back before the tunnel starts, so a held socket
 * keeps only the headers set for the daemon (apr_table_set copies them
 * into the request's own pool).  The scratch pool has an allocator of its
 * own, destroyed with it: from the connection's allocator its memory
 * would only go to that allocator's free list (MaxMemFree, 2 MiB by
 * default), which a tunnel keeps for its whole life. */
static int run_guard(request_rec *r, const tm_srv_conf *conf,
                     tm_ws_channel channel)
{
    apr_pool_t *request_pool = r->pool, *scratch;
    apr_allocator_t *allocator;
    int status;

    if (apr_allocator_create(&allocator) != APR_SUCCESS) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    if (apr_pool_create_ex(&scratch, request_pool, NULL, allocator)
        != APR_SUCCESS) {
        apr_allocator_destroy(allocator);
        return HTTP_SERVICE_UNAVAILABLE;
    }
    apr_allocator_owner_set(allocator, scratch);
    r->pool = scratch;
    status = guard(r, conf, channel);
    r->pool = request_pool;
    apr_pool_destroy(scratch);
    return status;
}

/* The guard of a socket that will be tunnelled runs on one of
 * TM_GUARD_THREADS threads of each process, not on the worker that asked,
 * which waits.  A tunnelled socket holds its worker thread for its whole
 * life, and what the guard's libraries (the database client, libjwt and
 * OpenSSL, json-c) leave on the thread that ran them -- malloc's per-thread
 * cache of freed chunks, their own per-thread state, the stack pages they
 * reached -- would stay with every socket; on a few threads it stays
 * once.  The threads also bound the database connections tunnelled upgrades
 * take at once to TM_GUARD_THREADS a process: mod_dbd keeps what a burst of
 * upgrades opened (DBDKeep, and up to DBDMax for DBDExptime).  A handed-off
 * socket leaves its worker free for the next request: its guard runs on the
 * worker, as many at once as there are workers.  Without the threads (an MPM
 * without threads, a thread that could not start, a process that is
 * stopping) the worker runs the guard itself. */
#define TM_GUARD_THREADS 2
/* (apr-util's apr_thread_pool would still need a mutex and a condition
 * per job from some pool, and may start threads later from a worker,
 * with the worker's signal mask: two threads and a list are simpler.) */

typedef struct guard_job {
    request_rec *r;
    const tm_srv_conf *conf;
    tm_ws_channel channel;
    int status;
    int finished;
    pthread_cond_t done;            /* finished is set */
    struct guard_job *next;
} guard_job;

static struct {
    pthread_mutex_t lock;
    pthread_cond_t queued;          /* a job is queued, or stopping */
    guard_job *head, *tail;
    int stopping;
    int started;
    pthread_t threads[TM_GUARD_THREADS];
} guards = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
             NULL, NULL, 0, 0, { 0 } };

static void *guard_thread(void *unused)
{
    guard_job *job;

    (void)unused;
    pthread_mutex_lock(&guards.lock);
    for (;;) {
        while (!guards.head && !guards.stopping) {
            pthread_cond_wait(&guards.queued, &guards.lock);
        }
        if (!(job = guards.head)) {
            break;
        }
        if (!(guards.head = job->next)) {
            guards.tail = NULL;
        }
        pthread_mutex_unlock(&guards.lock);
        job->status = run_guard(job->r, job->conf, job->channel);
        pthread_mutex_lock(&guards.lock);
        job->finished = 1;
        pthread_cond_signal(&job->done);
    }
    pthread_mutex_unlock(&guards.lock);
    return NULL;
}

/* The process is ending (its workers are gone): the threads finish what
 * is queued and are joined. */
static apr_status_t guards_stop(void *unused)
{
    int i;

    (void)unused;
    pthread_mutex_lock(&guards.lock);
    guards.stopping = 1;
    pthread_cond_broadcast(&guards.queued);
    pthread_mutex_unlock(&guards.lock);
    for (i = 0; i < guards.started; i++) {
        pthread_join(guards.threads[i], NULL);
    }
    guards.started = 0;
    return APR_SUCCESS;
}

void tm_upgrade_child_init(apr_pool_t *pchild, server_rec *s)
{
    sigset_t all, old;
    int threaded = 0, rv = 0;

    if (ap_mpm_query(AP_MPMQ_IS_THREADED, &threaded) != APR_SUCCESS
        || threaded == AP_MPMQ_NOT_SUPPORTED) {
        return;
    }
    /* Signals are the MPM's: the threads take none. */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    while (guards.started < TM_GUARD_THREADS
           && !(rv = pthread_create(&guards.threads[guards.started], NULL,
                                    guard_thread, NULL))) {
        guards.started++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rv) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s, TMLOGNO(00206)
                     "upgrade guard threads: %d of %d started; the rest "
                     "of the guards run on the workers", guards.started,
                     TM_GUARD_THREADS);
    }
    apr_pool_cleanup_register(pchild, NULL, guards_stop,
                              apr_pool_cleanup_null);
}

int tm_upgrade_guard(request_rec *r, const tm_srv_conf *conf,
                     tm_ws_channel channel, int tunnelled)
{
    guard_job job = { r, conf, channel, HTTP_SERVICE_UNAVAILABLE, 0,
                      PTHREAD_COND_INITIALIZER, NULL };
    int queued = 0;

    if (!tunnelled) {
        return run_guard(r, conf, channel);
    }
    pthread_mutex_lock(&guards.lock);
    if (guards.started && !guards.stopping) {
        if (guards.tail) {
            guards.tail->next = &job;
        }
        else {
            guards.head = &job;
        }
        guards.tail = &job;
        pthread_cond_signal(&guards.queued);
        queued = 1;
        while (!job.finished) {
            pthread_cond_wait(&job.done, &guards.lock);
        }
    }
    pthread_mutex_unlock(&guards.lock);
    pthread_cond_destroy(&job.done);
    return queued ? job.status : run_guard(r, conf, channel);
}
