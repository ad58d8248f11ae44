/* SPDX-License-Identifier: Apache-2.0 */
/*
 * listener.h -- unix socket servers for the daemon (anet-style).
 *
 * Functions return an fd or 0 on success and -1 on failure, with a message
 * in the caller's err[LISTENER_ERR_LEN].  Logging and exiting are the
 * caller's business.
 */
#ifndef TIMING_LISTENER_H
#define TIMING_LISTENER_H

#include <sys/types.h>

#define LISTENER_ERR_LEN 256

/* Creates a non-blocking, close-on-exec unix socket of the given type
 * (SOCK_STREAM listens with backlog; SOCK_DGRAM only binds) at path, with
 * file mode `mode` and, unless gid is (gid_t)-1, group gid.  A stale
 * socket file left by a dead daemon is removed; a live one is refused. */
int listener_unix(char *err, const char *path, int type, mode_t mode,
                  gid_t gid, int backlog);

/* Resolves a group name or number to *gid: 0 or -1. */
int listener_group(char *err, const char *name, gid_t *gid);

#endif /* TIMING_LISTENER_H */
