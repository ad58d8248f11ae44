/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tm_api_errors.h -- the envelope on answers Apache gives itself under
 * /api (the core's 404 for an id it refuses, /api itself, a 414).
 */
#ifndef TM_API_ERRORS_H
#define TM_API_ERRORS_H

/* 1 when path is /api or under /api/. */
int tm_api_path(const char *path);

/* Called from mod_timing's register_hooks. */
void tm_api_errors_register_hooks(void);

#endif /* TM_API_ERRORS_H */
