/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tm_notify.c -- sealed datagrams to timing-eventd (see timing_proto.h),
 * and the seal of an upgrade's trusted headers.
 *
 * Every send is non-blocking: a daemon that is down or behind must never
 * hold an Apache worker.  One may carry a descriptor (a hand-off,
 * tm_handoff.c).  A request that wants an answer binds its own
 * socket with Linux autobind so the daemon can reply to it alone, and
 * believes only an answer sealed with the same secret: another process
 * of the web server's user could send to that address too.
 */
#include "mod_timing.h"
#include "tm_notify.h"
#include "tm_json.h"
#include "tm_counters.h"
#include "timing_proto.h"

#include "apr_atomic.h"
#include "apr_strings.h"

#include <errno.h>
#include <stdint.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

APLOG_USE_MODULE(timing);

/* The stats answer is a few hundred bytes; a longer datagram is cut and
 * then refused by tp_decode. */
#define STATS_ANSWER_MAX (TP_OVERHEAD + 16384)

/* Sends that failed in this process since one last got through. */
static volatile apr_uint32_t failed_sends;

static apr_status_t close_fd(void *data)
{
    close((int)(intptr_t)data);
    return APR_SUCCESS;
}

/* A non-blocking datagram socket owned by pool p. */
static int dgram_socket(apr_pool_t *p)
{
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    if (fd >= 0) {
        apr_pool_cleanup_register(p, (void *)(intptr_t)fd, close_fd,
                                  apr_pool_cleanup_null);
    }
    return fd;
}

static int socket_address(const char *path, struct sockaddr_un *sun)
{
    size_t len = strlen(path);

    memset(sun, 0, sizeof *sun);
    sun->sun_family = AF_UNIX;
    if (len >= sizeof sun->sun_path) {
        return -1;
    }
    memcpy(sun->sun_path, path, len + 1);
    return 0;
}

/* The daemon's queue of datagrams is short (net.unix.max_dgram_qlen, 10
 * on many machines), so a burst of orders can find it full for a moment.
 * On a connected socket poll() says when it has room again: wait for
 * that, but never long.  A daemon that is down refuses at once. */
#define TM_NOTIFY_WAIT_MS 200

/* pass: a descriptor to send along (SCM_RIGHTS), or -1. */
static int send_waiting(int fd, const void *buf, size_t len, int pass,
                        apr_time_t deadline)
{
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int))];
    } control;
    struct iovec iov = { (void *)buf, len };
    struct msghdr msg;

    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (pass != -1) {
        struct cmsghdr *cm;

        memset(&control, 0, sizeof control);
        msg.msg_control = control.buf;
        msg.msg_controllen = sizeof control.buf;
        cm = CMSG_FIRSTHDR(&msg);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &pass, sizeof pass);
    }
    for (;;) {
        struct pollfd pfd = { fd, POLLOUT, 0 };
        apr_interval_time_t left;

        if (sendmsg(fd, &msg, MSG_NOSIGNAL) == (ssize_t)len) {
            return 0;
        }
        if (errno != EAGAIN && errno != EINTR) {
            return -1;
        }
        left = deadline - apr_time_now();
        if (left <= 0) {
            errno = EAGAIN;
            return -1;
        }
        poll(&pfd, 1, (int)((left + 999) / 1000));
    }
}

static apr_int64_t wall_ms(void)
{
    return apr_time_as_msec(apr_time_now());
}

apr_status_t tm_notify_ask(apr_pool_t *p, const tm_srv_conf *conf,
                           uint16_t type, const char *body, size_t len,
                           int pass, uint16_t answer_type,
                           apr_interval_time_t timeout,
                           int (*take)(const char *answer, size_t n,
                                       void *baton),
                           void *baton)
{
    unsigned char *request = apr_palloc(p, TP_OVERHEAD + len);
    size_t request_len;
    unsigned char *buf;
    struct sockaddr_un daemon;
    struct pollfd pfd;
    sa_family_t autobind = AF_UNIX;
    apr_time_t deadline = apr_time_now() + timeout;
    int fd = dgram_socket(p);

    if (fd < 0 || socket_address(conf->event_socket, &daemon) != 0
        || bind(fd, (struct sockaddr *)&autobind, sizeof autobind) != 0) {
        return APR_EGENERAL;
    }
    request_len = tp_encode(request, type, body, len, wall_ms(),
                            conf->eventd_secret, conf->eventd_secret_len);
    if (request_len == 0) {
        return APR_EGENERAL;
    }
    if (connect(fd, (struct sockaddr *)&daemon, sizeof daemon) != 0
        || send_waiting(fd, request, request_len, pass, deadline) != 0) {
        return APR_FROM_OS_ERROR(errno);
    }

    buf = apr_palloc(p, STATS_ANSWER_MAX);
    pfd.fd = fd;
    pfd.events = POLLIN;
    for (;;) {
        apr_interval_time_t left = deadline - apr_time_now();
        tp_header h;
        const char *answer;
        ssize_t n;

        if (left <= 0) {
            return APR_TIMEUP;
        }
        if (poll(&pfd, 1, (int)((left + 999) / 1000)) <= 0) {
            continue;   /* EINTR, or the deadline check ends it */
        }
        n = recv(fd, buf, STATS_ANSWER_MAX, 0);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) {
                continue;
            }
            return APR_FROM_OS_ERROR(errno);
        }
        if (tp_decode(buf, (size_t)n, conf->eventd_secret,
                      conf->eventd_secret_len, wall_ms(), &h, &answer)
            != TP_OK || h.type != answer_type) {
            continue;   /* not the daemon's answer: keep waiting */
        }
        if (take(answer, h.len, baton)) {
            return APR_SUCCESS;
        }
    }
}

/* The stats answer, parsed: the first sealed one is it. */
typedef struct stats_wait {
    apr_pool_t *p;
    json_object *o;
} stats_wait;

static int take_stats(const char *answer, size_t n, void *baton)
{
    stats_wait *w = baton;

    w->o = json_tokener_parse(apr_pstrmemdup(w->p, answer, n));
    return 1;
}

apr_status_t tm_notify_stats(request_rec *r, const tm_srv_conf *conf,
                             apr_interval_time_t timeout,
                             json_object **answer)
{
    stats_wait w = { r->pool, NULL };
    apr_status_t rv = tm_notify_ask(r->pool, conf, TP_STATS_REQUEST, NULL, 0,
                                    -1, TP_STATS_ANSWER, timeout, take_stats,
                                    &w);

    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (!w.o || !json_object_is_type(w.o, json_type_object)) {
        json_object_put(w.o);
        return APR_EGENERAL;
    }
    tm_json_put_cleanup(r->pool, w.o);
    *answer = w.o;
    return APR_SUCCESS;
}

/* Sends one sealed datagram of `type` with body to the daemon, waiting
 * briefly for room; memory from p.  0, or -1 with errno. */
static int send_datagram(apr_pool_t *p, const tm_srv_conf *conf,
                         uint16_t type, const char *body, size_t len)
{
    unsigned char *datagram = apr_palloc(p, TP_OVERHEAD + len);
    struct sockaddr_un daemon;
    size_t n;
    int fd;

    n = tp_encode(datagram, type, body, len, wall_ms(), conf->eventd_secret,
                  conf->eventd_secret_len);
    if (n == 0) {
        errno = EINVAL;
        return -1;
    }
    fd = dgram_socket(p);
    if (fd < 0 || socket_address(conf->event_socket, &daemon) != 0
        || connect(fd, (struct sockaddr *)&daemon, sizeof daemon) != 0
        || send_waiting(fd, datagram, n, -1,
                        apr_time_now()
                        + apr_time_from_msec(TM_NOTIFY_WAIT_MS)) != 0) {
        return -1;
    }
    return 0;
}

/* An outbox row after its COMMIT (an event or a revocation): body gains
 * the epoch, the id and this process's count of failed sends, and goes
 * out sealed.  A failure is counted, so the next datagram that gets
 * through reports it and the daemon resyncs.  0, or -1 with errno
 * (EMSGSIZE: over the protocol's limit) for the caller to log. */
static int send_outbox_row(request_rec *r, const tm_srv_conf *conf,
                           uint16_t type, const char *epoch,
                           apr_int64_t event_id, json_object *body)
{
    apr_uint32_t failed = apr_atomic_read32(&failed_sends);
    const char *text;
    size_t len;

    json_object_object_add(body, "epoch", json_object_new_string(epoch));
    json_object_object_add(body, "event_id", json_object_new_int64(event_id));
    json_object_object_add(body, "failed_sends",
                           json_object_new_int64(failed));
    text = json_object_to_json_string_length(body, JSON_C_TO_STRING_PLAIN
                                             | JSON_C_TO_STRING_NOSLASHESCAPE,
                                             &len);
    if (len > TP_MAX_BODY) {
        errno = EMSGSIZE;
    }
    else if (send_datagram(r->pool, conf, type, text, len) == 0) {
        if (failed) {
            apr_atomic_sub32(&failed_sends, failed);
        }
        return 0;
    }
    apr_atomic_inc32(&failed_sends);
    tm_counters_inc(TM_C_EVENT_SEND_FAILURES);
    return -1;
}

void tm_notify_event(request_rec *r, const tm_srv_conf *conf,
                     const char *epoch, apr_int64_t event_id,
                     apr_int64_t order_id, const char *type,
                     json_object *staff, json_object *customer)
{
    json_object *body = tm_json_object(r->pool);

    json_object_object_add(body, "order_id", json_object_new_int64(order_id));
    json_object_object_add(body, "type", json_object_new_string(type));
    json_object_object_add(body, "staff", json_object_get(staff));
    if (customer) {
        json_object_object_add(body, "customer", json_object_get(customer));
    }
    if (send_outbox_row(r, conf, TP_EVENT, epoch, event_id, body) == 0) {
        tm_counters_inc(TM_C_EVENTS_SENT);
    }
    else if (errno == EMSGSIZE) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, TMLOGNO(00401)
                      "event %" APR_INT64_T_FMT " is over the protocol's "
                      "limit: not sent", event_id);
    }
    else {
        /* Down or full: the event is in the log, clients will resync. */
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, errno, r, TMLOGNO(00402)
                      "event %" APR_INT64_T_FMT " not delivered to "
                      "timing-eventd at %s", event_id, conf->event_socket);
    }
}

void tm_notify_generation(server_rec *s, apr_pool_t *p,
                          const tm_srv_conf *conf, apr_int64_t generation)
{
    const char *body = apr_psprintf(p, "{\"generation\":%" APR_INT64_T_FMT
                                    "}", generation);

    if (send_datagram(p, conf, TP_GENERATION, body, strlen(body)) != 0) {
        ap_log_error(APLOG_MARK, APLOG_INFO, errno, s, TMLOGNO(00403)
                     "timing-eventd at %s not told of generation %"
                     APR_INT64_T_FMT, conf->event_socket, generation);
    }
}

void tm_notify_apache_stopped(const tm_srv_conf *conf,
                              apr_int64_t generation)
{
    unsigned char datagram[TP_OVERHEAD + 64];
    char body[64];
    struct sockaddr_un daemon;
    int n = snprintf(body, sizeof body, "{\"generation\":%" APR_INT64_T_FMT
                     "}", generation);
    size_t len;
    int fd;

    if (n < 0 || (size_t)n >= sizeof body
        || socket_address(conf->event_socket, &daemon) != 0) {
        return;
    }
    len = tp_encode(datagram, TP_APACHE_STOPPED, body, (size_t)n, wall_ms(),
                    conf->eventd_secret, conf->eventd_secret_len);
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return;
    }
    if (len && connect(fd, (struct sockaddr *)&daemon, sizeof daemon) == 0) {
        send_waiting(fd, datagram, len, -1,
                     apr_time_now() + apr_time_from_msec(TM_NOTIFY_WAIT_MS));
    }
    close(fd);
}

void tm_notify_revoke(request_rec *r, const tm_srv_conf *conf,
                      const char *epoch, apr_int64_t event_id,
                      const char *user_id)
{
    json_object *body = tm_json_object(r->pool);

    json_object_object_add(body, "user_id", json_object_new_string(user_id));
    if (send_outbox_row(r, conf, TP_REVOKE, epoch, event_id, body) != 0) {
        /* Counted like a lost event: the daemon hears of it with the next
         * datagram, or finds the id missing, and has its user sessions
         * reconnect through the token check. */
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, errno, r, TMLOGNO(00404)
                      "timing-eventd at %s not told that user %s's tokens "
                      "are revoked (event %" APR_INT64_T_FMT "): their open "
                      "sockets stay until it finds the gap", conf->event_socket,
                      user_id, event_id);
    }
}

apr_status_t tm_notify_seal_upgrade(request_rec *r, const tm_srv_conf *conf)
{
    const char *values[TP_UF_COUNT];
    char seal[TP_SEAL_HEX_LEN + 1];
    /* The values come from a request head Apache bounds (8 KiB a line by
     * default, LimitRequestFieldSize), plus what mod_timing set. */
    apr_size_t cap = 64 * TP_UF_COUNT;
    char *scratch;
    int i;

    apr_table_set(r->headers_in, TP_HDR_SENT,
                  apr_psprintf(r->pool, "%" APR_INT64_T_FMT, wall_ms()));
    values[TP_UF_WS_KEY] = apr_table_get(r->headers_in, "Sec-WebSocket-Key");
    for (i = TP_UF_CHANNEL; i < TP_UF_COUNT; i++) {
        values[i] = apr_table_get(r->headers_in, tp_upgrade_headers[i]);
    }
    for (i = 0; i < TP_UF_COUNT; i++) {
        cap += values[i] ? strlen(values[i]) : 0;
    }
    scratch = apr_palloc(r->pool, cap);
    if (tp_seal_upgrade(conf->eventd_secret, conf->eventd_secret_len, values,
                        scratch, cap, seal) != 0) {
        return APR_EGENERAL;
    }
    apr_table_set(r->headers_in, TP_HDR_SEAL, seal);
    return APR_SUCCESS;
}
