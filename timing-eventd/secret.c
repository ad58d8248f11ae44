/* SPDX-License-Identifier: Apache-2.0 */
/*
 * secret.c -- reading the seal's secret (secret.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "secret.h"
#include "timing_proto.h"

const char *secret_path(char *err, const char *path)
{
    static char credential[4096];
    const char *dir = getenv("CREDENTIALS_DIRECTORY");

    if (path) {
        return path;
    }
    if (dir && *dir) {
        int n = snprintf(credential, sizeof credential, "%s/%s", dir,
                         SECRET_CREDENTIAL);

        if (n > 0 && (size_t)n < sizeof credential) {
            return credential;
        }
    }
    snprintf(err, SECRET_ERR_LEN, "no --secret-file, and no systemd "
             "credential %s ($CREDENTIALS_DIRECTORY)", SECRET_CREDENTIAL);
    return NULL;
}

int secret_load(char *err, const char *path, unsigned char **out,
                size_t *len)
{
    unsigned char *buf;
    struct stat st;
    ssize_t n;
    size_t got = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

    if (fd == -1) {
        snprintf(err, SECRET_ERR_LEN, "cannot read %s: %s", path,
                 strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
        snprintf(err, SECRET_ERR_LEN, "%s is not a regular file", path);
        close(fd);
        return -1;
    }
    /* Anyone who can read it can speak as mod_timing. */
    if (st.st_mode & S_IROTH) {
        snprintf(err, SECRET_ERR_LEN, "%s is readable by every user: make "
                 "it 0600 (or 0640 for a group of its own)", path);
        close(fd);
        return -1;
    }
    buf = malloc(TP_MAX_SECRET_LEN + 1);
    if (!buf) {
        snprintf(err, SECRET_ERR_LEN, "out of memory");
        close(fd);
        return -1;
    }
    while (got <= TP_MAX_SECRET_LEN
           && (n = read(fd, buf + got, TP_MAX_SECRET_LEN + 1 - got)) != 0) {
        if (n == -1) {
            if (errno == EINTR) {
                continue;
            }
            snprintf(err, SECRET_ERR_LEN, "cannot read %s: %s", path,
                     strerror(errno));
            free(buf);
            close(fd);
            return -1;
        }
        got += (size_t)n;
    }
    close(fd);
    /* As mod_timing's TimingEventdSecretFile: a larger file is not it. */
    if (got > TP_MAX_SECRET_LEN) {
        snprintf(err, SECRET_ERR_LEN, "%s is larger than %d bytes; is it "
                 "the right file?", path, TP_MAX_SECRET_LEN);
        free(buf);
        return -1;
    }
    /* An editor's trailing newline is not part of the secret. */
    while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == '\r')) {
        got--;
    }
    if (got < TP_MIN_SECRET_LEN || got > TP_MAX_SECRET_LEN) {
        snprintf(err, SECRET_ERR_LEN, "%s must hold %d to %d bytes", path,
                 TP_MIN_SECRET_LEN, TP_MAX_SECRET_LEN);
        free(buf);
        return -1;
    }
    *out = buf;
    *len = got;
    return 0;
}
