/* SPDX-License-Identifier: Apache-2.0 */
/* tm_summary.h -- GET /api/admin/summary: one day's figures as JSON, or
 * that day's orders as CSV for the accountant. */
#ifndef TM_SUMMARY_H
#define TM_SUMMARY_H

#include "mod_timing.h"

int tm_summary_get(tm_ctx *c);

#endif /* TM_SUMMARY_H */
