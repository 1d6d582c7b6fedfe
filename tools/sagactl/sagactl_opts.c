/* sagactl_opts.c - the command line of sagactl. */
#include "sagactl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "saga/err.h"

const char sagactl_usage[] =
    "usage: sagactl [-b BOOTSTRAP] dlq list [--service S] [--reason R] [--json]\n"
    "       sagactl [-b BOOTSTRAP] dlq replay SELECTION [--reason R] [--dry-run]\n"
    "\n"
    "Dead letters (the saga-dlq topic):\n"
    "  dlq list     read saga-dlq from its start to its end now; one line per dead\n"
    "               letter: time, service, reason, saga-dlq position (partition/offset),\n"
    "               original topic/partition/offset, event type, event id, order id,\n"
    "               attempts, exception message (\"-\" where unknown)\n"
    "  dlq replay   re-publish the selected dead letters' payloads, unchanged, to their\n"
    "               original topic and partition with their original key (idempotent\n"
    "               producer, acks=all), adding the header\n"
    "               saga-replayed-from: saga-dlq/<partition>/<offset>; waits for delivery.\n"
    "               The event id is kept, so consumers that applied the event before\n"
    "               skip it: replaying twice is harmless. An event that fails again is\n"
    "               dead-lettered again, as a new entry.\n"
    "\n"
    "Selection (replay needs one; list takes them too):\n"
    "  --event-id ID     the dead letters of this event (repeatable)\n"
    "  --offset P:O      the dead letter at saga-dlq partition P, offset O (repeatable);\n"
    "                    the way to pick one whose payload is not a valid event\n"
    "  --service S       dead-lettered by service S (order, payment, inventory,\n"
    "                    notification)\n"
    "  --all             every dead letter\n"
    "  --reason R        only this reason (INVALID_JSON, INVALID_ENVELOPE,\n"
    "                    SCHEMA_VIOLATION, UNKNOWN_TYPE, UNKNOWN_VERSION, TOO_LARGE,\n"
    "                    HANDLER_REJECTED, HANDLER_FAILED)\n"
    "  Selectors combine: --event-id/--offset pick entries, --service and --reason\n"
    "  narrow them. The same event selected twice is replayed once. A dead letter\n"
    "  whose payload is not a valid event is replayed only when --offset names it.\n"
    "\n"
    "Options:\n"
    "  -b, --bootstrap HOST:PORT  Kafka bootstrap servers (default $SAGA_KAFKA_BOOTSTRAP)\n"
    "  --dlq-topic T              the dead-letter topic (saga-dlq)\n"
    "  --timeout-ms N             limit for reading the topic and for delivery (30000)\n"
    "  --json                     list: print a JSON array\n"
    "  --dry-run                  replay: print what would be replayed, publish nothing\n"
    "  -h, --help                 this text\n"
    "  -V, --version              the version and the commit of this build\n"
    "\n"
    "Exit status: 0 done, 1 something failed (broker unreachable, a replay not\n"
    "delivered, a named dead letter not found), 2 usage error.\n";

static const char *const known_services[] = {"order", "payment", "inventory", "notification"};

/* The reasons common/src/consumer.c writes (kafka_dlt-exception-fqcn). */
static const char *const known_reasons[] = {
    "INVALID_JSON",    "INVALID_ENVELOPE", "SCHEMA_VIOLATION", "UNKNOWN_TYPE",
    "UNKNOWN_VERSION", "TOO_LARGE",        "HANDLER_REJECTED", "HANDLER_FAILED",
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* The value of option argv[*i], advancing *i; NULL (err filled) if there is none. */
static const char *option_value(int argc, char **argv, int *i, char *err, size_t errlen)
{
    const char *opt = argv[*i];
    if (*i + 1 >= argc || argv[*i + 1][0] == '\0') {
        snprintf(err, errlen, "%s needs a value", opt);
        return NULL;
    }
    return argv[++*i];
}

static bool parse_i64(const char *s, long long min, long long max, long long *out)
{
    char *end = NULL;
    errno = 0;
    if (!s || !*s || *s == '+' || *s == ' ')
        return false;
    long long v = strtoll(s, &end, 10);
    if (errno || !end || *end || v < min || v > max)
        return false;
    *out = v;
    return true;
}

/* "P:O" -> a position on saga-dlq. */
static int parse_position(const char *s, sagactl_pos *out, char *err, size_t errlen)
{
    char part[32];
    const char *colon = strchr(s, ':');
    long long p = 0, o = 0;

    if (!colon || (size_t)(colon - s) >= sizeof(part)) {
        snprintf(err, errlen, "--offset: '%s' is not PARTITION:OFFSET (for example 0:17)", s);
        return SAGA_ERR_INVALID;
    }
    memcpy(part, s, (size_t)(colon - s));
    part[colon - s] = '\0';
    if (!parse_i64(part, 0, INT32_MAX, &p) || !parse_i64(colon + 1, 0, INT64_MAX, &o)) {
        snprintf(err, errlen,
                 "--offset: '%s' is not PARTITION:OFFSET with non-negative integers "
                 "(for example 0:17)",
                 s);
        return SAGA_ERR_INVALID;
    }
    out->partition = (int32_t)p;
    out->offset = o;
    return SAGA_OK;
}

static int parse_service(const char *s, const char **out, char *err, size_t errlen)
{
    for (size_t i = 0; i < COUNT(known_services); i++) {
        if (!strcmp(s, known_services[i])) {
            *out = known_services[i];
            return SAGA_OK;
        }
    }
    snprintf(err, errlen,
             "--service: unknown service '%.100s' (order, payment, inventory, notification)", s);
    return SAGA_ERR_INVALID;
}

static int parse_reason(const char *s, const char **out, char *err, size_t errlen)
{
    for (size_t i = 0; i < COUNT(known_reasons); i++) {
        if (!strcasecmp(s, known_reasons[i])) {
            *out = known_reasons[i];
            return SAGA_OK;
        }
    }
    snprintf(err, errlen,
             "--reason: unknown reason '%.100s' (INVALID_JSON, INVALID_ENVELOPE, "
             "SCHEMA_VIOLATION, UNKNOWN_TYPE, UNKNOWN_VERSION, TOO_LARGE, HANDLER_REJECTED, "
             "HANDLER_FAILED)",
             s);
    return SAGA_ERR_INVALID;
}

/* Checks which options go with which command, once all are read. */
static int opts_check(sagactl_opts *o, bool seen_json, bool seen_dry_run, char *err, size_t errlen)
{
    bool picks = o->nevent_ids > 0 || o->npositions > 0;

    if (o->cmd == SAGACTL_DLQ_LIST && seen_dry_run) {
        snprintf(err, errlen, "--dry-run is an option of dlq replay, not of dlq list");
        return SAGA_ERR_INVALID;
    }
    if (o->cmd == SAGACTL_DLQ_REPLAY && seen_json) {
        snprintf(err, errlen, "--json is an option of dlq list, not of dlq replay");
        return SAGA_ERR_INVALID;
    }
    if (o->all && (picks || o->service)) {
        snprintf(err, errlen, "--all selects every dead letter: it does not go with %s",
                 picks ? (o->nevent_ids ? "--event-id" : "--offset") : "--service");
        return SAGA_ERR_INVALID;
    }
    if (o->cmd == SAGACTL_DLQ_REPLAY && !o->all && !picks && !o->service) {
        snprintf(err, errlen,
                 "dlq replay needs a selection: --event-id ID, --offset P:O, --service S or "
                 "--all");
        return SAGA_ERR_INVALID;
    }
    if (!o->bootstrap[0]) {
        snprintf(err, errlen,
                 "no kafka bootstrap servers: set SAGA_KAFKA_BOOTSTRAP or pass -b HOST:PORT");
        return SAGA_ERR_INVALID;
    }
    return SAGA_OK;
}

int sagactl_opts_load(sagactl_opts *o, int argc, char **argv, char *err, size_t errlen)
{
    const char *words[2] = {NULL, NULL}; /* "dlq", "list" | "replay" */
    size_t nwords = 0;
    bool seen_json = false, seen_dry_run = false;
    const char *v;
    long long n;
    int rc;

    memset(o, 0, sizeof(*o));
    snprintf(o->topic, sizeof(o->topic), "saga-dlq");
    o->timeout_ms = 30000;
    if ((v = getenv("SAGA_KAFKA_BOOTSTRAP")))
        snprintf(o->bootstrap, sizeof(o->bootstrap), "%s", v);
    if (!(o->event_ids = calloc((size_t)argc + 1, sizeof(*o->event_ids))) ||
        !(o->positions = calloc((size_t)argc + 1, sizeof(*o->positions)))) {
        snprintf(err, errlen, "out of memory");
        return SAGA_ERR_NOMEM;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            o->cmd = SAGACTL_HELP;
            return SAGA_OK;
        } else if (!strcmp(a, "-b") || !strcmp(a, "--bootstrap")) {
            if (!(v = option_value(argc, argv, &i, err, errlen)))
                return SAGA_ERR_INVALID;
            if (strlen(v) >= sizeof(o->bootstrap)) {
                snprintf(err, errlen, "%s: value is longer than %zu characters", a,
                         sizeof(o->bootstrap) - 1);
                return SAGA_ERR_INVALID;
            }
            snprintf(o->bootstrap, sizeof(o->bootstrap), "%s", v);
        } else if (!strcmp(a, "--dlq-topic")) {
            if (!(v = option_value(argc, argv, &i, err, errlen)))
                return SAGA_ERR_INVALID;
            if (strlen(v) >= sizeof(o->topic)) {
                snprintf(err, errlen, "--dlq-topic: a topic name has at most 249 characters");
                return SAGA_ERR_INVALID;
            }
            snprintf(o->topic, sizeof(o->topic), "%s", v);
        } else if (!strcmp(a, "--timeout-ms")) {
            if (!(v = option_value(argc, argv, &i, err, errlen)))
                return SAGA_ERR_INVALID;
            if (!parse_i64(v, 100, 3600000, &n)) {
                snprintf(err, errlen, "--timeout-ms: '%.100s' is not an integer in 100..3600000",
                         v);
                return SAGA_ERR_INVALID;
            }
            o->timeout_ms = (long)n;
        } else if (!strcmp(a, "--service")) {
            if (!(v = option_value(argc, argv, &i, err, errlen)) ||
                parse_service(v, &o->service, err, errlen))
                return SAGA_ERR_INVALID;
        } else if (!strcmp(a, "--reason")) {
            if (!(v = option_value(argc, argv, &i, err, errlen)) ||
                parse_reason(v, &o->reason, err, errlen))
                return SAGA_ERR_INVALID;
        } else if (!strcmp(a, "--event-id")) {
            if (!(v = option_value(argc, argv, &i, err, errlen)))
                return SAGA_ERR_INVALID;
            if (strlen(v) > 255) {
                snprintf(err, errlen, "--event-id: an event id has at most 255 characters");
                return SAGA_ERR_INVALID;
            }
            o->event_ids[o->nevent_ids++] = v;
        } else if (!strcmp(a, "--offset")) {
            if (!(v = option_value(argc, argv, &i, err, errlen)) ||
                parse_position(v, &o->positions[o->npositions], err, errlen))
                return SAGA_ERR_INVALID;
            o->npositions++;
        } else if (!strcmp(a, "--all")) {
            o->all = true;
        } else if (!strcmp(a, "--json")) {
            o->json = seen_json = true;
        } else if (!strcmp(a, "--dry-run")) {
            o->dry_run = seen_dry_run = true;
        } else if (a[0] == '-') {
            snprintf(err, errlen, "unknown option '%.100s' (--help lists them)", a);
            return SAGA_ERR_INVALID;
        } else if (nwords < 2) {
            words[nwords++] = a;
        } else {
            snprintf(err, errlen, "unexpected argument '%.100s'", a);
            return SAGA_ERR_INVALID;
        }
    }
    if (nwords == 0) {
        snprintf(err, errlen, "no command given (dlq list, dlq replay)");
        return SAGA_ERR_INVALID;
    }
    if (strcmp(words[0], "dlq") != 0) {
        snprintf(err, errlen, "unknown command '%.100s' (dlq list, dlq replay)", words[0]);
        return SAGA_ERR_INVALID;
    }
    if (nwords < 2) {
        snprintf(err, errlen, "dlq: which action? (list, replay)");
        return SAGA_ERR_INVALID;
    }
    if (!strcmp(words[1], "list")) {
        o->cmd = SAGACTL_DLQ_LIST;
    } else if (!strcmp(words[1], "replay")) {
        o->cmd = SAGACTL_DLQ_REPLAY;
    } else {
        snprintf(err, errlen, "dlq: unknown action '%.100s' (list, replay)", words[1]);
        return SAGA_ERR_INVALID;
    }
    rc = opts_check(o, seen_json, seen_dry_run, err, errlen);
    return rc;
}

void sagactl_opts_free(sagactl_opts *o)
{
    free(o->event_ids);
    free(o->positions);
    o->event_ids = NULL;
    o->positions = NULL;
}
