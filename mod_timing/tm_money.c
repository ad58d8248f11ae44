/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tm_money.c -- formatting of integer minor units.
 *
 * Prices never pass through a double on the way out: the text is built
 * from the integer, and the JSON layer writes that text verbatim.
 */
#include <stdio.h>

#include "tm_money.h"

void tm_money_format(int64_t minor, char out[TM_MONEY_LEN])
{
    const char *sign = minor < 0 ? "-" : "";
    uint64_t v = minor < 0 ? (uint64_t)0 - (uint64_t)minor : (uint64_t)minor;
    unsigned long long units = v / 100;
    unsigned cents = (unsigned)(v % 100);

    if (cents == 0) {
        snprintf(out, TM_MONEY_LEN, "%s%llu", sign, units);
    }
    else if (cents % 10 == 0) {
        snprintf(out, TM_MONEY_LEN, "%s%llu.%u", sign, units, cents / 10);
    }
    else {
        snprintf(out, TM_MONEY_LEN, "%s%llu.%02u", sign, units, cents);
    }
}
