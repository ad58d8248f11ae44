/* SPDX-License-Identifier: Apache-2.0 */
/*
 * messages.c -- builds the daemon's own messages with json-c: connection,
 * pong, disconnect, and the time and id that go in them.
 *
 * Which message goes to whom, and when, is ws_session.c's business.
 */
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include <json-c/json.h>

#include "messages.h"

/* Adds v under key, taking ownership of v even on failure. */
static int add(json_object *o, const char *key, json_object *v)
{
    if (!v || json_object_object_add(o, key, v) != 0) {
        json_object_put(v);
        return -1;
    }
    return 0;
}

/* Serialises o, copies the text out and releases o. */
static char *finish(json_object *o, int ok)
{
    const char *text = NULL;
    char *out = NULL;

    if (ok) {
        text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    }
    if (text) {
        out = strdup(text);
    }
    json_object_put(o);
    return out;
}

char *msg_typed(const char *type, const char *reason)
{
    json_object *o = json_object_new_object();

    if (!o) {
        return NULL;
    }
    return finish(o, add(o, "type", json_object_new_string(type)) == 0
                     && (!reason
                         || add(o, "reason",
                                json_object_new_string(reason)) == 0));
}

int msg_iso_time(const struct timespec *ts, char *out, size_t outlen)
{
    struct tm tm;
    char base[32];
    int n;

    if (!gmtime_r(&ts->tv_sec, &tm)
        || strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
        return -1;
    }
    n = snprintf(out, outlen, "%s.%03ldZ", base, ts->tv_nsec / 1000000);
    return (n < 0 || (size_t)n >= outlen) ? -1 : n;
}

char *msg_connection(const char *client_id, const char *epoch,
                     int64_t last_event_id, const struct timespec *now)
{
    json_object *o;
    char when[48];

    if (msg_iso_time(now, when, sizeof when) < 0) {
        return NULL;
    }
    o = json_object_new_object();
    if (!o) {
        return NULL;
    }
    return finish(o, add(o, "type", json_object_new_string("connection")) == 0
                     && add(o, "client_id",
                            json_object_new_string(client_id)) == 0
                     && add(o, "epoch", json_object_new_string(epoch)) == 0
                     && add(o, "last_event_id",
                            json_object_new_int64(last_event_id)) == 0
                     && add(o, "server_time",
                            json_object_new_string(when)) == 0);
}

void msg_client_id(char out[MSG_CLIENT_ID_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    static unsigned long counter;
    unsigned char r[MSG_CLIENT_ID_LEN / 2];
    size_t i;

    if (getrandom(r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
        /* Only before the kernel's pool is ready at boot.  The id is not a
         * secret, it only has to differ: time and a counter will do. */
        struct timespec ts;
        unsigned long v[2];

        clock_gettime(CLOCK_REALTIME, &ts);
        v[0] = (unsigned long)ts.tv_sec * 1000000000UL
               + (unsigned long)ts.tv_nsec;
        v[1] = ++counter;
        memset(r, 0, sizeof r);
        memcpy(r, v, sizeof v < sizeof r ? sizeof v : sizeof r);
    }
    for (i = 0; i < sizeof r; i++) {
        out[2 * i] = hex[r[i] >> 4];
        out[2 * i + 1] = hex[r[i] & 15];
    }
    out[MSG_CLIENT_ID_LEN] = '\0';
}
