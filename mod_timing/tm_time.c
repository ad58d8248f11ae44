/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tm_time.c -- formatting of times for JSON answers.
 *
 * The database stores UTC DATETIME(3); its text form only needs the
 * separator, exactly three fraction digits and the Z.  Checked digit by
 * digit so a surprise from the driver shows up as an error, not as a
 * malformed time in an answer.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tm_time.h"

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

int tm_time_iso_from_db(const char *db, char out[TM_ISO_LEN])
{
    static const char shape[] = "dddd-dd-dd dd:dd:dd";
    size_t i;

    if (!db || strlen(db) < sizeof shape - 1) {
        return -1;
    }
    for (i = 0; i < sizeof shape - 1; i++) {
        if (shape[i] == 'd' ? !is_digit(db[i]) : db[i] != shape[i]) {
            return -1;
        }
    }
    memcpy(out, db, 19);
    out[10] = 'T';
    out[19] = '.';
    /* Fraction: up to the first three digits, padded with zeros. */
    if (db[19] == '.') {
        for (i = 0; i < 3; i++) {
            char c = db[20 + i];

            if (c == '\0') {
                break;
            }
            if (!is_digit(c)) {
                return -1;
            }
            out[20 + i] = c;
        }
        for (; i < 3; i++) {
            out[20 + i] = '0';
        }
    }
    else if (db[19] == '\0') {
        memcpy(out + 20, "000", 3);
    }
    else {
        return -1;
    }
    out[23] = 'Z';
    out[24] = '\0';
    return 0;
}

void tm_time_iso_from_usec(int64_t usec, char out[TM_ISO_LEN])
{
    time_t secs = (time_t)(usec / 1000000);
    int ms = (int)((usec % 1000000) / 1000);
    struct tm tm;
    char wide[64];      /* room for any int the fields could hold */

    gmtime_r(&secs, &tm);
    snprintf(wide, sizeof wide, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, ms);
    memcpy(out, wide, TM_ISO_LEN - 1);
    out[TM_ISO_LEN - 1] = '\0';
}
