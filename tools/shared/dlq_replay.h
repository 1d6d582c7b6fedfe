/* dlq_replay.h - re-publishing dead letters to their original topic: the one replay
 * path sagactl (`sagactl dlq replay`) and saga-console (its replay button) share.
 *
 * Each entry's payload goes, byte for byte, to its original topic and partition
 * (kafka_dlt-original-topic/-partition; the key's partition when that partition no
 * longer exists) with its original key, so it lands among the other events of its
 * order, through an idempotent producer (acks=all). Headers: the entry's
 * content-type, correlationid, traceparent and tracestate; the content-type and
 * correlationid the outbox would have set when the entry lacks them and the payload
 * is a valid envelope (a structured-mode CloudEvent: application/cloudevents+json);
 * and saga-replayed-from: <dlq topic>/<partition>/<offset>. The dead-letter headers
 * themselves (kafka_dlt-*, saga-service, ...) are not copied, nor ce_* headers (dead
 * letters written before events carried a content-type kept the partial binary-mode
 * ce_id and ce_type, which would make a CloudEvents SDK misread the event).
 * The event id is unchanged, so a consumer that applied the event before skips it
 * (its inbox).
 *
 * Entries of one event (one event id; or one original message, by its topic,
 * partition, offset and timestamp, when the payload is not a valid envelope) are
 * replayed once per call, the oldest; entries are replayed
 * in their original topic, partition and offset order (dlq_replay_sort). An entry
 * whose payload is not a valid event is replayed only when it was picked by its
 * position: in bulk it would only be dead-lettered again. */
#ifndef SAGA_DLQ_REPLAY_H
#define SAGA_DLQ_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dlq_entry.h"

typedef enum dlq_replay_state {
    DLQ_REPLAY_PENDING = 0, /* to be produced */
    DLQ_REPLAY_SKIPPED,     /* the same event as an earlier item (same_as), or not picked by
                         --offset while its payload is not a valid event */
    DLQ_REPLAY_REFUSED,     /* cannot be replayed (why says why) */
    DLQ_REPLAY_QUEUED,      /* produced, waiting for its delivery report */
    DLQ_REPLAY_DELIVERED,
    DLQ_REPLAY_FAILED, /* produce or delivery failed (why) */
} dlq_replay_state;

typedef struct dlq_replay_item {
    dlq_entry *e; /* borrowed */
    dlq_replay_state state;
    const struct dlq_replay_item
        *same_as;       /* DLQ_REPLAY_SKIPPED: the item replayed instead, or NULL */
    int32_t partition;  /* target partition, RD_KAFKA_PARTITION_UA: by key */
    int64_t new_offset; /* DLQ_REPLAY_DELIVERED: where it landed */
    int32_t new_partition;
    char why[256];
} dlq_replay_item;

typedef struct dlq_replay_opts {
    const char *bootstrap; /* the brokers */
    const char *dlq_topic; /* saga-dlq: for saga-replayed-from */
    const char *client_id; /* the producer's client.id ("sagactl", "saga-console") */
    long timeout_ms;       /* metadata, and the wait for delivery reports */
} dlq_replay_opts;

/* True if e was picked by its position on saga-dlq (then a payload that is not a
 * valid event is replayed too). */
typedef bool (*dlq_replay_picked_fn)(const dlq_entry *e, void *ud);

/* Sorts items into replay order: original topic, partition, offset; then saga-dlq
 * position. */
void dlq_replay_sort(dlq_replay_item *items, size_t n);

/* Decides, before anything is produced, what happens to each item (state PENDING on
 * entry): SKIPPED (a later copy of an event already planned, or not a valid event
 * and not picked), REFUSED (why: no original topic, or a payload cut when it was
 * dead-lettered), or left PENDING. picked may be NULL (nothing picked). */
void dlq_replay_plan(dlq_replay_item *items, size_t n, dlq_replay_picked_fn picked, void *ud);

/* Produces every PENDING item and waits for the reports (up to o->timeout_ms; what is
 * still queued then is purged and FAILED). Each item ends DELIVERED (new_partition,
 * new_offset) or FAILED (why). Returns SAGA_OK, or an error that stopped everything
 * (err: the broker cannot be reached). */
int dlq_replay_send(const dlq_replay_opts *o, dlq_replay_item *items, size_t n, char *err,
                    size_t errlen);

/* "saga-dlq/0/5": where e is on the dead-letter topic. Returns buf. */
const char *dlq_replay_where(const dlq_replay_opts *o, const dlq_entry *e, char *buf, size_t len);

#endif
