/* consumer.h - the batching consumer loop every service runs.
 *
 * It takes up to SAGA_BATCH_MAX messages (or what arrives within
 * SAGA_BATCH_WAIT_MS of the first), applies them all in one MySQL transaction
 * (each event's id claimed in the inbox first, so a redelivered event changes
 * nothing), commits, and only then stores and commits the Kafka offsets.
 *
 * - A transient failure (deadlock, lost connection) rolls the batch back and
 *   retries it with exponential backoff and jitter, reconnecting as needed, for
 *   as long as it takes; nothing is skipped.
 * - A message that cannot be processed goes to saga-dlq through the outbox, in the
 *   batch's transaction, and the loop carries on: bad JSON or envelope, a schema
 *   violation, an unknown type or version, a handler that rejects it, or one that
 *   fails SAGA_MAX_ATTEMPTS times on its own (the batch is rolled back and re-run
 *   without it being counted against the others).
 * - Events of a known type that this service has no handler for are skipped.
 * - The row locks the handlers declare (saga_handler.prefetch) are taken for the
 *   whole batch, a few statements per table, before the first handler runs. */
#ifndef SAGA_CONSUMER_H
#define SAGA_CONSUMER_H

#include <stddef.h>
#include <stdint.h>
#include <librdkafka/rdkafka.h>

#include "saga/config.h"
#include "saga/db.h"
#include "saga/envelope.h"
#include "saga/schema.h"

/* Where a message came from, and room for the handler to say why it failed. */
typedef struct saga_msg_meta {
    const char *topic;
    int32_t partition;
    int64_t offset;
    int64_t timestamp; /* ms since the epoch, -1 if unknown */
    const char *traceparent; /* the message's W3C traceparent header, NULL if none:
                                pass it on to the events this one causes */
    char *err;         /* handler's reason on failure (dead-letter message) */
    size_t errlen;
} saga_msg_meta;

/* Applies one event in db's open transaction. Returns SAGA_OK; SAGA_ERR_TRANSIENT
 * to retry the batch later; SAGA_ERR_INVALID if the event can never be applied
 * (dead-lettered at once); any other code counts as one failed attempt. */
typedef int (*saga_event_handler_fn)(saga_db *db, const saga_event *ev, saga_msg_meta *meta,
                                     void *ud);

/* A row lock the handler takes for each event (saga_db_query_prefetched), taken
 * for the whole batch before the handlers run (see prefetch.h). The key is the
 * event's data.<field>, or with item_field, data.<field>[].<item_field> of every
 * item of that array. */
typedef struct saga_handler_prefetch {
    const saga_prefetch_query *query; /* NULL: an unused slot */
    const char *field;
    const char *item_field;
} saga_handler_prefetch;

#define SAGA_HANDLER_PREFETCH_MAX 4

typedef struct saga_handler {
    const char *event_type;
    saga_event_handler_fn fn;
    /* the batch's locks are taken query by query in the order the handler table
     * first names them: name them in the order the handlers lock */
    saga_handler_prefetch prefetch[SAGA_HANDLER_PREFETCH_MAX];
} saga_handler;

typedef struct saga_consumer_opts {
    const saga_config *cfg;
    const char *const *topics;
    size_t ntopics;
    const saga_handler *handlers; /* borrowed; must outlive the consumer */
    size_t nhandlers;
    void *ud;                     /* passed to handlers */
    const saga_schema_registry *schemas;
    void (*commit_hook)(void *ud); /* run after a commit that wrote outbox rows */
    void *commit_hook_ud;
} saga_consumer_opts;

typedef struct saga_consumer saga_consumer;

/* Opens the consumer's own MySQL connection and Kafka consumer and subscribes.
 * Returns NULL with the reason in err. */
saga_consumer *saga_consumer_new(const saga_consumer_opts *opts, char *err, size_t errlen);

/* Runs the loop until saga_consumer_stop; returns SAGA_OK after finishing the
 * batch in hand (a batch that could not be committed is left for redelivery). */
int saga_consumer_run(saga_consumer *c);

/* Asks the loop to stop. Thread- and signal-safe. */
void saga_consumer_stop(saga_consumer *c);

/* The Kafka handle, for readiness checks (rd_kafka_metadata is thread-safe). */
rd_kafka_t *saga_consumer_kafka(saga_consumer *c);

/* Closes the Kafka consumer (leaving the group) and the MySQL connection. NULL is fine. */
void saga_consumer_free(saga_consumer *c);

#endif
