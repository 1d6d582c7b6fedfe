/* load_audit.h - running the audit command after a run. */
#ifndef LOAD_AUDIT_H
#define LOAD_AUDIT_H

/* Runs cmd with /bin/sh -c and waits for it. Its standard output goes to our
 * standard error, so that ours carries only the report. Returns its exit status,
 * 128 + n when signal n killed it, or -1 when it could not be started. */
int load_audit_run(const char *cmd);

#endif
