/* load_run.h - one load run: the flash-sale setup, the outcome reader, the orders
 * offered on schedule, the cancels, and the drain. */
#ifndef LOAD_RUN_H
#define LOAD_RUN_H

#include <signal.h>
#include <stddef.h>

#include "load_opts.h"
#include "load_report.h"
#include "load_tokens.h"

/* Runs the load the options describe and fills the counts and latencies of *r (the
 * verdict is load_results_judge's). *stop is raised by signals: 1 stops sending
 * (the run drains), 2 stops draining too. Returns 0 when the run happened (even if
 * it went badly: the counts say how), or -1 with the reason in err when it could
 * not start (HTTP client, Kafka). */
int load_run(const load_opts *o, load_tokens *tokens, load_results *r, volatile sig_atomic_t *stop,
             char *err, size_t errlen);

#endif
