/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tm_cors.h -- cross-origin calls from the origins an operator lists
 * (TimingCorsOrigins), and the JSON envelope for errors Apache raises
 * itself (ErrorDocument pointing at the API).
 */
#ifndef TM_CORS_H
#define TM_CORS_H

#include "mod_timing.h"

/* Adds the CORS answer headers (on errors too) when the request comes
 * from a listed origin. */
void tm_cors_apply(request_rec *r, const tm_srv_conf *conf);

/* Answers a preflight (OPTIONS with Access-Control-Request-Method) for a
 * path whose methods are `allow`; returns OK. */
int tm_cors_preflight(request_rec *r, const char *allow);

/* The envelope's error code for an HTTP status ("error" when unknown). */
const char *tm_error_code(int status);

/* When r is Apache's ErrorDocument redirect into the API, answers the
 * original status with the envelope and returns 1. */
int tm_error_document(request_rec *r);

#endif /* TM_CORS_H */
