/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tm_status.c -- order status rules, in one place for REST and tests.
 */
#include <string.h>

#include "tm_status.h"

static const char *const statuses[] = {
    "pending", "preparing", "ready", "completed", "cancelled"
};

int tm_status_valid(const char *status)
{
    size_t i;

    for (i = 0; status && i < sizeof statuses / sizeof *statuses; i++) {
        if (!strcmp(status, statuses[i])) {
            return 1;
        }
    }
    return 0;
}

int tm_status_final(const char *status)
{
    return !strcmp(status, "completed") || !strcmp(status, "cancelled");
}

tm_change tm_status_change(const char *from, const char *to)
{
    if (!strcmp(from, to)) {
        return TM_CHANGE_SAME;
    }
    return tm_status_final(from) ? TM_CHANGE_FINAL : TM_CHANGE_OK;
}

int tm_status_list_valid(const char *list)
{
    char one[16];

    if (!list || !*list) {
        return 0;
    }
    for (;;) {
        size_t len = strcspn(list, ",");

        if (len == 0 || len >= sizeof one) {
            return 0;
        }
        memcpy(one, list, len);
        one[len] = '\0';
        if (!tm_status_valid(one)) {
            return 0;
        }
        if (!list[len]) {
            return 1;
        }
        list += len + 1;
    }
}
