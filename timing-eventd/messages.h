/* SPDX-License-Identifier: Apache-2.0 */
/*
 * messages.h -- the JSON texts the daemon itself writes to clients (the
 * event messages come ready-made from mod_timing).
 *
 * Pure: json-c and the clock, no sockets or loop.  Every text is malloc'd
 * and the caller frees it.
 */
#ifndef TIMING_MESSAGES_H
#define TIMING_MESSAGES_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define MSG_CLIENT_ID_LEN   32      /* hex digits */
#define MSG_ISO_TIME_LEN    24      /* 2024-05-01T12:00:00.123Z */

/* {"type":type} or {"type":type,"reason":reason}; NULL when out of memory. */
char *msg_typed(const char *type, const char *reason);

/* {"type":"connection","client_id":…,"epoch":…,"last_event_id":N,
 *  "server_time":…}, the first message of a session; now is wall time. */
char *msg_connection(const char *client_id, const char *epoch,
                     int64_t last_event_id, const struct timespec *now);

/* ISO 8601 UTC with milliseconds and Z, as the REST API writes times:
 * the length written, or -1 when outlen is too small. */
int msg_iso_time(const struct timespec *ts, char *out, size_t outlen);

/* MSG_CLIENT_ID_LEN random hex digits and a NUL. */
void msg_client_id(char out[MSG_CLIENT_ID_LEN + 1]);

#endif /* TIMING_MESSAGES_H */
