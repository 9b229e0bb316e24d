/* sdnotify.h - systemd's readiness protocol (sd_notify(3)) without libsystemd: under a unit
 * of Type=notify, systemd passes a datagram socket in $NOTIFY_SOCKET (a path, or an abstract
 * name written with a leading '@'), and the service sends it "READY=1" once it serves and
 * "STOPPING=1" when it begins to stop. Without $NOTIFY_SOCKET nothing is sent. */
#ifndef MOL_BASE_SDNOTIFY_H
#define MOL_BASE_SDNOTIFY_H

/* Reads $NOTIFY_SOCKET once and removes it from the environment, so that the processes this
 * one starts (handler commands) cannot speak for it. Later calls do nothing. */
void mol_sd_notify_init(void);

/* Sends state (e.g. "READY=1", "STOPPING=1") as one datagram. Returns 1 when sent, 0 when
 * there is no notify socket, or a negative error (the socket is unreachable, the name too
 * long). Never blocks for long: one sendto on a datagram socket. */
int mol_sd_notify(const char *state);

#endif
