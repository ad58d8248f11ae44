/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tm_money.h -- money in integer minor units, written as a JSON number
 * with at most two decimals.  Pure logic.
 */
#ifndef TM_MONEY_H
#define TM_MONEY_H

#include <stdint.h>

#define TM_MONEY_LEN 32

/* 6000 -> "60", 6050 -> "60.5", 6055 -> "60.55", -125 -> "-1.25". */
void tm_money_format(int64_t minor, char out[TM_MONEY_LEN]);

#endif /* TM_MONEY_H */
