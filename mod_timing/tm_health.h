/* SPDX-License-Identifier: Apache-2.0 */
/* tm_health.h -- GET /api/health. */
#ifndef TM_HEALTH_H
#define TM_HEALTH_H

#include "mod_timing.h"

int tm_health_get(tm_ctx *c);

#endif /* TM_HEALTH_H */
