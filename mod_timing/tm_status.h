/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tm_status.h -- the order statuses and which changes are allowed.
 * Pure logic.
 *
 *   pending <-> preparing <-> ready   (either direction: staff fix clicks)
 *   any of those -> completed | cancelled   (final: no way out)
 */
#ifndef TM_STATUS_H
#define TM_STATUS_H

typedef enum {
    TM_CHANGE_OK,           /* a real change */
    TM_CHANGE_SAME,         /* already there: nothing to do or announce */
    TM_CHANGE_FINAL         /* out of completed or cancelled: refused */
} tm_change;

/* 1 for the five statuses of the contract. */
int tm_status_valid(const char *status);
int tm_status_final(const char *status);
tm_change tm_status_change(const char *from, const char *to);

/* 1 when list is a comma-separated list of valid statuses ("" is not). */
int tm_status_list_valid(const char *list);

#endif /* TM_STATUS_H */
