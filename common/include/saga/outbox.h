/* outbox.h - events written in the caller's transaction, published by a relay.
 *
 * saga_outbox_add writes a row to `outbox` inside the caller's open transaction
 * (through saga_db_insert: a consumer's write batch keeps it for one multi-row
 * INSERT before the commit).
 * The relay thread publishes rows in id order with an idempotent producer, waits
 * for the delivery reports, and only then deletes the rows. It is woken right
 * after a commit that added rows (saga_db's commit hook) and also scans every
 * SAGA_RELAY_POLL_MS and on start, so rows left by a crash go out. One relay per
 * service database runs at a time (MySQL named lock "<database>.relay").
 *
 * Rows written before events carried a content-type header (with ce_id and ce_type
 * headers instead) are published as new ones are: the ce_* headers dropped and the
 * content-type the payload has (SAGA_CE_CONTENT_TYPE for an event).
 *
 * Delivery is at least once: a crash between the delivery report and the delete
 * publishes those rows again on restart (same event ids), and the consumers'
 * inbox absorbs the duplicates. */
#ifndef SAGA_OUTBOX_H
#define SAGA_OUTBOX_H

#include <stddef.h>
#include <cjson/cJSON.h>

#include "saga/config.h"
#include "saga/db.h"
#include "saga/envelope.h"

/* The Kafka `content-type` of an event: the CloudEvents Kafka binding's structured
 * mode, JSON event format. */
#define SAGA_CE_CONTENT_TYPE "application/cloudevents+json; charset=utf-8"

/* Adds a message for topic to the outbox in db's open transaction. key may be
 * NULL; headers is NULL or a JSON object of string values (copied), which should
 * include the payload's "content-type". */
int saga_outbox_add(saga_db *db, const char *topic, const char *key, const void *payload,
                    size_t len, const cJSON *headers);

/* Adds an event as a structured-mode CloudEvent (Kafka protocol binding): key =
 * subject, payload = the printed envelope, headers content-type
 * (SAGA_CE_CONTENT_TYPE), correlationid and traceparent (when not NULL). No ce_*
 * header: the attributes are in the payload. */
int saga_outbox_add_event(saga_db *db, const char *topic, const saga_event *ev,
                          const char *traceparent);

typedef struct saga_relay saga_relay;

/* Starts the relay thread with its own MySQL connection and producer. Returns
 * NULL with the reason in err. */
saga_relay *saga_relay_start(const saga_config *cfg, char *err, size_t errlen);

/* Wakes the relay now (thread-safe; cheap). Matches saga_db_set_commit_hook. */
void saga_relay_wake(void *relay);

/* Rows not yet published, as of the relay's last scan (-1 before the first). */
long long saga_relay_backlog(const saga_relay *relay);

/* Stops the thread after its current pass, waits up to timeout_ms for messages
 * in flight, destroys the producer and frees the relay. NULL is fine. */
void saga_relay_stop(saga_relay *relay, int timeout_ms);

#endif
