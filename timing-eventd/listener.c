/* SPDX-License-Identifier: Apache-2.0 */
/*
 * listener.c -- creates the daemon's unix socket servers.
 *
 * Checks the path fits sun_path (anet refuses rather than truncates, and so
 * do we), clears a stale socket file, binds with the requested permissions
 * already in force, and sets the group.  Accepting and reading are left to
 * ws_server.c and events.c.
 */
#include <errno.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "listener.h"

static void set_err(char *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void set_err(char *err, const char *fmt, ...)
{
    va_list ap;

    if (!err) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(err, LISTENER_ERR_LEN, fmt, ap);
    va_end(ap);
}

/* Decides what to do about an existing file at path: 0 when the path is
 * free (nothing there, or a dead socket we removed), -1 otherwise. */
static int clear_stale(char *err, const struct sockaddr_un *sa, int type)
{
    struct stat st;
    int probe, rc, saved;

    if (lstat(sa->sun_path, &st) == -1) {
        if (errno == ENOENT) {
            return 0;
        }
        set_err(err, "cannot stat %s: %s", sa->sun_path, strerror(errno));
        return -1;
    }
    if (!S_ISSOCK(st.st_mode)) {
        set_err(err, "%s exists and is not a socket", sa->sun_path);
        return -1;
    }
    /* Non-blocking, so a live server with a full backlog answers EAGAIN
     * at once instead of making us wait. */
    probe = socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (probe == -1) {
        set_err(err, "socket: %s", strerror(errno));
        return -1;
    }
    rc = connect(probe, (const struct sockaddr *)sa, sizeof *sa);
    saved = errno;
    close(probe);
    if (rc == -1 && saved == ECONNREFUSED) {
        /* Nobody is bound to it: a leftover of a daemon that died. */
        if (unlink(sa->sun_path) == -1 && errno != ENOENT) {
            set_err(err, "cannot remove stale socket %s: %s", sa->sun_path,
                    strerror(errno));
            return -1;
        }
        return 0;
    }
    if (rc == 0 || saved == EAGAIN || saved == EPROTOTYPE) {
        set_err(err, "another timing-eventd is running on %s", sa->sun_path);
        return -1;
    }
    set_err(err, "cannot probe existing socket %s: %s", sa->sun_path,
            strerror(saved));
    return -1;
}

int listener_unix(char *err, const char *path, int type, mode_t mode,
                  gid_t gid, int backlog)
{
    struct sockaddr_un sa;
    size_t len = strlen(path);
    mode_t old_umask;
    int fd, rc;

    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    if (len == 0 || len >= sizeof sa.sun_path) {
        set_err(err, "socket path is %zu bytes, at most %zu fit: %s", len,
                sizeof sa.sun_path - 1, path);
        return -1;
    }
    memcpy(sa.sun_path, path, len + 1);

    if (clear_stale(err, &sa, type) == -1) {
        return -1;
    }
    fd = socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        set_err(err, "socket: %s", strerror(errno));
        return -1;
    }
    /* bind() creates the file with the umask applied: narrowing the umask
     * for that call means the socket is never reachable with wider
     * permissions than asked for, not even between bind and chmod. */
    old_umask = umask(~mode & 0777);
    rc = bind(fd, (struct sockaddr *)&sa, sizeof sa);
    umask(old_umask);
    if (rc == -1) {
        set_err(err, "cannot bind %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    /* umask can only take bits away; chmod sets exactly what was asked. */
    if (chmod(path, mode) == -1) {
        set_err(err, "cannot chmod %s: %s", path, strerror(errno));
        goto fail;
    }
    if (gid != (gid_t)-1 && chown(path, (uid_t)-1, gid) == -1) {
        set_err(err, "cannot chgrp %s to %ld: %s", path, (long)gid,
                strerror(errno));
        goto fail;
    }
    if (type == SOCK_STREAM && listen(fd, backlog) == -1) {
        set_err(err, "cannot listen on %s: %s", path, strerror(errno));
        goto fail;
    }
    return fd;

fail:
    close(fd);
    unlink(path);
    return -1;
}

int listener_group(char *err, const char *name, gid_t *gid)
{
    struct group grp, *found = NULL;
    char *buf, *end;
    long size;
    int rc;

    if (name[0] >= '0' && name[0] <= '9') {
        unsigned long n;

        errno = 0;
        n = strtoul(name, &end, 10);
        if (errno || *end || n >= (unsigned long)(gid_t)-1) {
            set_err(err, "bad group id: %s", name);
            return -1;
        }
        *gid = (gid_t)n;
        return 0;
    }
    size = sysconf(_SC_GETGR_R_SIZE_MAX);
    if (size < 1024) {
        size = 1024;
    }
    for (;;) {
        buf = malloc((size_t)size);
        if (!buf) {
            set_err(err, "out of memory looking up group %s", name);
            return -1;
        }
        rc = getgrnam_r(name, &grp, buf, (size_t)size, &found);
        if (rc != ERANGE || size >= (1L << 20)) {
            break;
        }
        free(buf);
        size *= 2;
    }
    if (rc != 0 || !found) {
        set_err(err, "unknown group %s%s%s", name, rc ? ": " : "",
                rc ? strerror(rc) : "");
        free(buf);
        return -1;
    }
    *gid = found->gr_gid;
    free(buf);
    return 0;
}
