/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tm_time.h -- times as the API writes them: ISO 8601 UTC with
 * milliseconds and Z (2026-11-24T09:15:02.123Z).  Pure logic.
 */
#ifndef TM_TIME_H
#define TM_TIME_H

#include <stddef.h>
#include <stdint.h>

#define TM_ISO_LEN 25       /* "2026-11-24T09:15:02.123Z" and NUL */

/* From a database DATETIME text "YYYY-MM-DD HH:MM:SS[.f...]" (UTC).
 * Returns 0, or -1 when db is not of that form. */
int tm_time_iso_from_db(const char *db, char out[TM_ISO_LEN]);

/* From microseconds since the epoch (apr_time_t). */
void tm_time_iso_from_usec(int64_t usec, char out[TM_ISO_LEN]);

#endif /* TM_TIME_H */
