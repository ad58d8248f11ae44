/*
 * tm_notify.c -- datagrams to timing-eventd (see timing_proto.h).
 *
 * Every send is non-blocking: a daemon that is down or behind must never
 * hold an Apache worker.  A request that wants an answer binds its own
 * socket with Linux autobind so the daemon can reply to it alone.
 */
#include "mod_timing.h"
#include "tm_notify.h"
#include "tm_json.h"
#include "timing_proto.h"

#include "apr_strings.h"

#include <errno.h>
#include <stdint.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

APLOG_USE_MODULE(timing);

/* The stats answer is a few hundred bytes; a longer datagram is cut and
 * then refused by tp_decode. */
#define STATS_ANSWER_MAX (TP_HEADER_LEN + 16384)

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

apr_status_t tm_notify_stats(request_rec *r, const char *socket_path,
                             apr_interval_time_t timeout,
                             json_object **answer)
{
    unsigned char request[TP_HEADER_LEN];
    unsigned char *buf;
    struct sockaddr_un daemon;
    struct pollfd pfd;
    sa_family_t autobind = AF_UNIX;
    apr_time_t deadline = apr_time_now() + timeout;
    int fd = dgram_socket(r->pool);

    if (fd < 0 || socket_address(socket_path, &daemon) != 0
        || bind(fd, (struct sockaddr *)&autobind, sizeof autobind) != 0) {
        return APR_EGENERAL;
    }
    tp_encode_header(request, TP_STATS_REQUEST, 0);
    if (sendto(fd, request, sizeof request, 0, (struct sockaddr *)&daemon,
               sizeof daemon) != (ssize_t)sizeof request) {
        return APR_FROM_OS_ERROR(errno);
    }

    buf = apr_palloc(r->pool, STATS_ANSWER_MAX);
    pfd.fd = fd;
    pfd.events = POLLIN;
    for (;;) {
        apr_interval_time_t left = deadline - apr_time_now();
        tp_header h;
        const char *body;
        ssize_t n;
        json_object *o;

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
        if (tp_decode(buf, (size_t)n, &h, &body) != TP_OK
            || h.type != TP_STATS_ANSWER) {
            continue;   /* not the answer: keep waiting */
        }
        o = json_tokener_parse(apr_pstrmemdup(r->pool, body, h.len));
        if (!o || !json_object_is_type(o, json_type_object)) {
            json_object_put(o);
            return APR_EGENERAL;
        }
        tm_json_put_cleanup(r->pool, o);
        *answer = o;
        return APR_SUCCESS;
    }
}
