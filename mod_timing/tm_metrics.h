/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tm_metrics.h -- the metrics page for Prometheus: the counters
 * (tm_counters.h) by route and status, latency by route, a few module
 * counters, and the daemon's figures, asked of it at each scrape.
 */
#ifndef TM_METRICS_H
#define TM_METRICS_H

#include "mod_timing.h"
#include "tm_counters.h"
#include "tm_router.h"

#define TM_METRICS_HANDLER "timing-metrics"

/* From post_config: the route table names the routes' labels. */
void tm_metrics_label_routes(const tm_route *routes, size_t nroutes);

/* GET /api/admin/metrics (staff, admin). */
int tm_metrics_get(tm_ctx *c);

/* SetHandler timing-metrics: the same text, guarded by Apache's own
 * access rules instead of a token. */
int tm_metrics_handler(request_rec *r);

#endif /* TM_METRICS_H */
