/* SPDX-License-Identifier: Apache-2.0 */
/*
 * log.h -- the daemon's one logging call.
 *
 * Lines go to stderr, where systemd's journal (or the test harness) picks
 * them up; there is no log file to reopen.  Callers must never pass header
 * values, tokens or query strings: those can carry credentials.
 */
#ifndef TIMING_LOG_H
#define TIMING_LOG_H

enum log_level {
    LOG_ERROR = 0,
    LOG_WARN  = 1,
    LOG_INFO  = 2,
    LOG_DEBUG = 3
};

/* The longest name log_set_name takes. */
#define LOG_NAME_MAX 32

/* Tags every line with the name of the shop this daemon serves:
 * "timing-eventd[NAME]:".  NAME is 1 to LOG_NAME_MAX letters, digits,
 * '.', '_' or '-' (it ends up in journal lines and unit names): 0, or -1
 * when it is not, and the tag is unchanged. */
int log_set_name(const char *name);

/* Sets the most verbose level written; LOG_INFO until called. */
void log_set_level(int level);

/* Parses "error", "warn", "info" or "debug"; -1 for anything else. */
int log_level_from_name(const char *name);

void log_msg(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif /* TIMING_LOG_H */
