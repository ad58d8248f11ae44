/* SPDX-License-Identifier: Apache-2.0 */
/*
 * secret.h -- the secret mod_timing seals its messages with
 * (timing_proto.h), read once at start-up.
 *
 * Under systemd the unit hands it over with LoadCredential=, so the
 * daemon, which runs unprivileged, never needs to read /etc/timing itself.
 */
#ifndef TIMING_SECRET_H
#define TIMING_SECRET_H

#include <stddef.h>

#define SECRET_ERR_LEN 256
/* The credential's name in the unit's LoadCredential= line. */
#define SECRET_CREDENTIAL "eventd.secret"

/* The path to read: `path` when given, else the systemd credential when
 * $CREDENTIALS_DIRECTORY is set; NULL (and err filled) when neither. */
const char *secret_path(char *err, const char *path);

/* Reads the secret at path into a malloc'd buffer the caller frees; a
 * trailing newline is not part of it.  0, or -1 with err filled: missing,
 * unreadable, shorter than TP_MIN_SECRET_LEN or longer than
 * TP_MAX_SECRET_LEN bytes, or readable by others than its owner and group. */
int secret_load(char *err, const char *path, unsigned char **out,
                size_t *len);

#endif /* TIMING_SECRET_H */
