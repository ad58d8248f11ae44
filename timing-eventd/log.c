/* SPDX-License-Identifier: Apache-2.0 */
/*
 * log.c -- log_msg(): one line per message on stderr, tagged with its level.
 *
 * The journal adds time and unit, so a line is only "timing-eventd: LEVEL:
 * text", or "timing-eventd[NAME]: LEVEL: text" when the daemon serves one
 * of several shops (--name).  What is worth logging, and keeping secrets
 * out of it, is left to the callers.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

static int log_level = LOG_INFO;
static char log_tag[LOG_NAME_MAX + 16] = "timing-eventd";

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void log_set_level(int level)
{
    if (level >= LOG_ERROR && level <= LOG_DEBUG) {
        log_level = level;
    }
}

int log_set_name(const char *name)
{
    static const char allowed[] = "abcdefghijklmnopqrstuvwxyz"
                                  "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";
    size_t len = strlen(name);

    if (len == 0 || len > LOG_NAME_MAX || strspn(name, allowed) != len) {
        return -1;
    }
    snprintf(log_tag, sizeof log_tag, "timing-eventd[%s]", name);
    return 0;
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
    fprintf(stderr, "%s: %s: %s\n", log_tag, level_names[level], line);
}
