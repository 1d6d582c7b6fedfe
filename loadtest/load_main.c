/* load_main.c - saga-load: offers orders, follows their sagas to the end, audits, and
 * reports. Wiring only: options, tokens, the run, the audit, the report. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "load_audit.h"
#include "load_opts.h"
#include "load_report.h"
#include "load_run.h"
#include "load_tokens.h"

#include "saga/version.h"

/* 1: stop sending and drain; 2: stop draining too. The handler only counts. */
static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    if (stop_requested < 2)
        stop_requested++;
}

static void signals_install(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* Sleeps s seconds, or less if interrupted twice. */
static void settle(double s)
{
    int64_t left_ms = (int64_t)(s * 1000);

    while (left_ms > 0 && stop_requested < 2) {
        struct timespec ts = {0, 100 * 1000000L};
        if (left_ms < 100)
            ts.tv_nsec = (long)left_ms * 1000000L;
        nanosleep(&ts, NULL);
        left_ms -= 100;
    }
}

static int write_json(const load_results *r, const char *path)
{
    FILE *f = fopen(path, "w");
    int rc;

    if (!f) {
        fprintf(stderr, "saga-load: cannot create %s: %s\n", path, strerror(errno));
        return -1;
    }
    rc = load_report_json(r, f);
    if (fclose(f) || rc) {
        fprintf(stderr, "saga-load: cannot write %s\n", path);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    load_opts o;
    load_tokens *tokens = NULL;
    load_results *r = NULL;
    char err[512];
    int status = 1;

    if (saga_version_requested(argc, argv, "saga-load"))
        return 0;
    switch (load_opts_parse(argc, argv, &o, err, sizeof(err))) {
    case LOAD_OPTS_HELP:
        load_opts_usage(stdout);
        return 0;
    case LOAD_OPTS_BAD:
        fprintf(stderr, "saga-load: %s (see saga-load --help)\n", err);
        return 2;
    case LOAD_OPTS_RUN:
        break;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
        fprintf(stderr, "saga-load: cannot initialise libcurl\n");
        return 1;
    }
    if (!(tokens = load_tokens_new(&o, err, sizeof(err)))) {
        fprintf(stderr, "saga-load: %s\n", err);
        status = 2;
        goto out;
    }
    if (o.write_tokens) {
        if (!load_tokens_can_mint(tokens)) {
            fprintf(stderr, "saga-load: --write-tokens needs a key: --jwt-private-key-file, "
                            "SAGA_JWT_PRIVATE_KEY_FILE, or SAGA_JWT_SECRET with HS256\n");
            status = 2;
            goto out;
        }
        if (load_tokens_write(tokens, o.write_tokens, err, sizeof(err))) {
            fprintf(stderr, "saga-load: %s\n", err);
            status = 1;
            goto out;
        }
        fprintf(stderr, "saga-load: wrote %lu tokens to %s\n", o.customers + LOAD_POOR_CUSTOMERS,
                o.write_tokens);
        status = 0;
        goto out;
    }
    if (!(r = malloc(sizeof(*r)))) {
        fprintf(stderr, "saga-load: out of memory\n");
        goto out;
    }
    load_results_init(r, &o);
    signals_install();

    if (load_run(&o, tokens, r, &stop_requested, err, sizeof(err))) {
        fprintf(stderr, "saga-load: %s\n", err);
        snprintf(r->run_error, sizeof(r->run_error), "%.255s", err);
    } else if (!o.no_audit && o.audit_cmd && stop_requested < 2) {
        settle(o.audit_settle_s);
        fprintf(stderr, "saga-load: audit: %s\n", o.audit_cmd);
        r->audit_ran = true;
        r->audit_status = load_audit_run(o.audit_cmd);
    }
    load_results_judge(r);
    load_report_text(r, stdout);
    fflush(stdout);
    status = r->exit_status;
    if (o.json_path && write_json(r, o.json_path))
        status = 1;
out:
    free(r);
    load_tokens_free(tokens);
    curl_global_cleanup();
    return status;
}
