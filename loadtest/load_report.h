/* load_report.h - what a run measured, and the report: human-readable text and the
 * same as JSON (for CI and the benchmark scripts: the field names are stable). */
#ifndef LOAD_REPORT_H
#define LOAD_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "load_opts.h"
#include "load_orders.h"
#include "load_stats.h"

#define LOAD_STATUS_MAX 600 /* HTTP statuses counted one by one below this */
#define LOAD_ERROR_KINDS 8  /* distinct transport error messages kept (the rest: "other") */
#define LOAD_MISSING_SAMPLE 10

/* A count per message; the messages are static strings (curl_easy_strerror). */
typedef struct load_named_count {
    const char *name;
    uint64_t n;
} load_named_count;

typedef struct load_results {
    const load_opts *opts; /* borrowed */

    double started_unix_s; /* the wall clock at the first scheduled send (to line the run
                              up with other records, such as bench.sh's CPU samples) */
    /* times, in seconds from the first scheduled send */
    double send_s;       /* until the last order's HTTP answer */
    double completion_s; /* until the last outcome read */
    double total_s;      /* the whole run, drain included */
    bool interrupted;    /* SIGINT/SIGTERM stopped the sending early */

    /* POST /api/orders */
    uint64_t offered;          /* orders whose send time came */
    uint64_t accepted;         /* 202 */
    uint64_t refused;          /* any other HTTP status */
    uint64_t refused_sold_out; /* of them: 409 out-of-stock (the sold-out hint) */
    uint64_t errors;           /* no HTTP answer (connect, timeout, ...) */
    uint64_t bad_answers;      /* 202 without an order id we could read */
    uint64_t by_status[LOAD_STATUS_MAX];
    load_named_count error_kinds[LOAD_ERROR_KINDS + 1]; /* the last one is "other" */

    /* POST /api/orders/{id}/cancel */
    uint64_t cancel_sent, cancel_ok, cancel_conflict, cancel_failed;
    uint64_t cancelled_after_confirmed;

    /* outcomes of accepted orders, from order-events */
    uint64_t completed;
    uint64_t outcomes[LOAD_OUTCOME_COUNT];
    uint64_t by_kind[LOAD_KIND_COUNT][LOAD_OUTCOME_COUNT];
    uint64_t offered_by_kind[LOAD_KIND_COUNT];
    uint64_t refused_by_kind[LOAD_KIND_COUNT];
    uint64_t unexpected; /* outcomes their kind does not expect */
    uint64_t missing;    /* accepted, no outcome within the drain timeout */
    uint64_t missing_by_kind[LOAD_KIND_COUNT];
    char missing_sample[LOAD_MISSING_SAMPLE][LOAD_ORDER_ID_LEN + 1];
    uint64_t events_read;    /* outcome events read (all orders) */
    uint64_t events_foreign; /* orders read about that this run did not place */
    uint64_t events_errors;  /* consumer errors and messages that could not be read */

    /* latencies, microseconds */
    load_hist http;          /* POST: scheduled send -> answer (any status) */
    load_hist http_service;  /* POST: actual send -> answer (what a closed loop would see) */
    load_hist e2e;           /* accepted: scheduled send -> outcome read */
    load_hist e2e_confirmed; /* same, CONFIRMED only */
    load_hist cancel_http;   /* cancel request: sent -> answer */
    load_hist sold_out_http; /* POST refused 409 out-of-stock: scheduled -> answer */
    load_hist send_lag;      /* actual send - scheduled send: the generator keeping up */

    /* --flash */
    bool flash_setup_ok;
    uint64_t flash_oversell; /* confirmed beyond the stock */

    /* the audit */
    bool audit_ran;
    int audit_status; /* its exit status; 128 + n when killed by signal n; -1 could not run */

    char run_error[256]; /* the run could not start: why ("" when it ran) */

    /* the verdict */
    bool ok;
    int exit_status;
    char failure[320]; /* why not ok, for people */
} load_results;

/* Sets every field to its empty value; opts is borrowed. */
void load_results_init(load_results *r, const load_opts *opts);

/* Counts a transport error by its message (a static string). */
void load_results_error(load_results *r, const char *message);

/* Derives the verdict (ok, exit_status, failure, flash_oversell) from the counts. */
void load_results_judge(load_results *r);

/* The report for people. */
void load_report_text(const load_results *r, FILE *out);

/* The report as one JSON object, printed with a trailing newline. Returns 0, or -1
 * if it cannot be built or written. */
int load_report_json(const load_results *r, FILE *out);

#endif
