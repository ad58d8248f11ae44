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

/* Sets the most verbose level written; LOG_INFO until called. */
void log_set_level(int level);

/* Parses "error", "warn", "info" or "debug"; -1 for anything else. */
int log_level_from_name(const char *name);

void log_msg(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif /* TIMING_LOG_H */
