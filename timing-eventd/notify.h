/* SPDX-License-Identifier: Apache-2.0 */
/*
 * notify.h -- readiness and stopping notices for systemd (Type=notify).
 */
#ifndef TIMING_NOTIFY_H
#define TIMING_NOTIFY_H

/* Sends state (e.g. "READY=1") to $NOTIFY_SOCKET as sd_notify(3) does.
 * 0 when sent or when there is no $NOTIFY_SOCKET (not started by systemd);
 * -1 on failure, already logged. */
int notify_systemd(const char *state);

#endif
