/* sagactl.h - the admin CLI: dead letters you can act on.
 *
 *   sagactl [-b BOOTSTRAP] dlq list [--service S] [--reason R] [--json]
 *   sagactl [-b BOOTSTRAP] dlq replay (--event-id ID | --offset P:O)... | --service S | --all
 *                                     [--reason R] [--dry-run]
 *
 * `list` reads saga-dlq from its start to its end now and prints one line per dead
 * letter (or a JSON array). `replay` re-publishes the selected dead letters'
 * payloads, unchanged, to their original topic and partition with their original
 * key, through an idempotent producer, adding the header
 * `saga-replayed-from: saga-dlq/<partition>/<offset>`; the event id stays the same,
 * so a consumer that applied the event before skips it (inbox). A dead letter whose
 * payload is not a valid event is replayed only when --offset names it.
 *
 * Exit status: 0 done; 1 something failed (broker unreachable, a replay not
 * delivered, a named dead letter not found); 2 usage error. */
#ifndef SAGACTL_H
#define SAGACTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <librdkafka/rdkafka.h>

#include "dlq_entry.h"

#define SAGACTL_EXIT_OK 0
#define SAGACTL_EXIT_FAILED 1
#define SAGACTL_EXIT_USAGE 2

#define SAGACTL_MAX_PARTITIONS 1024

/* ---- options ---- */

typedef enum sagactl_cmd {
    SAGACTL_HELP = 0,
    SAGACTL_DLQ_LIST,
    SAGACTL_DLQ_REPLAY,
} sagactl_cmd;

/* A --offset selector: a position on saga-dlq. */
typedef struct sagactl_pos {
    int32_t partition;
    int64_t offset;
} sagactl_pos;

typedef struct sagactl_opts {
    sagactl_cmd cmd;
    char bootstrap[512];    /* -b, else SAGA_KAFKA_BOOTSTRAP */
    char topic[250];        /* --dlq-topic, default saga-dlq */
    long timeout_ms;        /* --timeout-ms, default 30000: reading, and delivery */
    const char *service;    /* --service (argv, borrowed), NULL: any */
    const char *reason;     /* --reason, canonical upper case (static), NULL: any */
    const char **event_ids; /* --event-id values (argv, borrowed); array owned */
    size_t nevent_ids;
    sagactl_pos *positions; /* --offset values; owned */
    size_t npositions;
    bool all;     /* --all */
    bool json;    /* list --json */
    bool dry_run; /* replay --dry-run */
} sagactl_opts;

/* Fills opts from argv (and SAGA_KAFKA_BOOTSTRAP). Returns SAGA_OK; SAGA_ERR_INVALID
 * with the reason in err (a usage error). cmd = SAGACTL_HELP when --help was given.
 * Free with sagactl_opts_free. */
int sagactl_opts_load(sagactl_opts *opts, int argc, char **argv, char *err, size_t errlen);
void sagactl_opts_free(sagactl_opts *opts);

/* The usage text, for --help and after usage errors. */
extern const char sagactl_usage[];

/* ---- dead letters ---- */

typedef struct dlq_list {
    dlq_entry *items;
    size_t n, cap;
    bool topic_missing; /* saga-dlq does not exist (yet) */
} dlq_list;

/* Reads opts->topic from its start to its end now and keeps the entries opts
 * selects (sagactl_entry_selected), in the order read (by partition, then offset).
 * For dlq list, the payload and headers are not kept (payload NULL, len 0).
 * Returns SAGA_OK (a missing topic is an empty list with topic_missing set), or an
 * error with the reason in err. Free with dlq_list_free. */
int dlq_list_read(const sagactl_opts *opts, dlq_list *out, char *err, size_t errlen);
void dlq_list_free(dlq_list *list); /* frees the entries; the struct itself is the caller's */

/* True if the entry passes opts' selectors: --event-id or --offset (any of them, when
 * given), --service, --reason. --all and no selector select everything. */
bool sagactl_entry_selected(const sagactl_opts *opts, const dlq_entry *e);

/* Text for people: s with control characters and invalid UTF-8 as '?', "-" for NULL
 * or empty. Returns buf. */
const char *sagactl_safe(const char *s, char *buf, size_t len);

/* ---- the commands ---- */

int sagactl_dlq_list(const sagactl_opts *opts);   /* returns an exit status */
int sagactl_dlq_replay(const sagactl_opts *opts); /* returns an exit status */

#endif
