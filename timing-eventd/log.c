/* SPDX-License-Identifier: Apache-2.0 */
/*
 * log.c -- log_msg(): one line per message on stderr, tagged with its level.
 *
 * The journal adds time and unit, so a line is only "timing-eventd: LEVEL:
 * text".  What is worth logging, and keeping secrets out of it, is left to
 * the callers.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

static int log_level = LOG_INFO;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void log_set_level(int level)
{
    if (level >= LOG_ERROR && level <= LOG_DEBUG) {
        log_level = level;
    }
}

int log_level_from_name(const char *name)
{
    int i;

    for (i = LOG_ERROR; i <= LOG_DEBUG; i++) {
        if (strcmp(name, level_names[i]) == 0) {
            return i;
        }
    }
    return -1;
}

void log_msg(int level, const char *fmt, ...)
{
    char line[1024];
    va_list ap;

    if (level > log_level || level < LOG_ERROR) {
        return;
    }
    /* Format into one buffer and write it with one call, so lines from a
     * crashing process or a shared stderr do not interleave mid-line.  A
     * longer message is cut, which vsnprintf does safely. */
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "timing-eventd: %s: %s\n", level_names[level], line);
}
