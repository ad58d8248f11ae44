/* SPDX-License-Identifier: Apache-2.0 */
/*
 * notify.c -- tells systemd the daemon is ready or stopping.
 *
 * Under Type=notify systemd passes a datagram socket in $NOTIFY_SOCKET
 * (a path, or "@name" in the abstract namespace) and waits for "READY=1"
 * before it starts the units ordered after this one (Apache).  The
 * protocol is one datagram of text, so a plain AF_UNIX socket does it and
 * the daemon needs no libsystemd.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "notify.h"

int notify_systemd(const char *state)
{
    const char *path = getenv("NOTIFY_SOCKET");
    struct sockaddr_un sun;
    socklen_t addrlen;
    size_t len;
    ssize_t sent;
    int fd, err;

    if (!path || !*path) {
        return 0;
    }
    len = strlen(path);
    if ((path[0] != '/' && path[0] != '@') || len >= sizeof sun.sun_path) {
        log_msg(LOG_WARN, "NOTIFY_SOCKET is not a usable socket address");
        return -1;
    }
    memset(&sun, 0, sizeof sun);
    sun.sun_family = AF_UNIX;
    memcpy(sun.sun_path, path, len);
    if (path[0] == '@') {
        sun.sun_path[0] = '\0';     /* abstract: no terminating NUL counts */
    }
    addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len
                          + (path[0] == '/'));

    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        log_msg(LOG_WARN, "cannot notify systemd: %s", strerror(errno));
        return -1;
    }
    sent = sendto(fd, state, strlen(state), MSG_NOSIGNAL,
                  (const struct sockaddr *)&sun, addrlen);
    err = errno;
    close(fd);
    if (sent == -1) {
        log_msg(LOG_WARN, "cannot notify systemd: %s", strerror(err));
        return -1;
    }
    return 0;
}
