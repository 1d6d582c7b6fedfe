/* handler.h - what the services' event handlers (consumer.h) share.
 *
 * A handler rejects an event that can never be applied with the reason its dead
 * letter carries, records why a database call failed for the consumer's log, and
 * reads the members of the event's data (already checked against the event's
 * schema; these read what the schema cannot express):
 *
 *     const char *order_id = saga_data_str(ev->data, "orderId");
 *     if (!saga_text_is_uuid(order_id))
 *         return saga_event_reject(meta, "data.orderId is not a UUID");
 */
#ifndef SAGA_HANDLER_H
#define SAGA_HANDLER_H

#include <stdbool.h>
#include <cjson/cJSON.h>

#include "saga/consumer.h"
#include "saga/db.h"

/* Writes the reason (printf-style) to meta->err, the dead letter's reason, and returns
 * SAGA_ERR_INVALID, so that a handler just returns it. meta may be NULL (a caller
 * outside the consumer): then only the code is returned. */
int saga_event_reject(saga_msg_meta *meta, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Records a database call that failed with rc in meta->err for the consumer's log
 * ("<what>: <rc> (<db's last error>)") and returns rc unchanged. */
int saga_event_db_failed(saga_db *db, saga_msg_meta *meta, int rc, const char *what);

/* A string member of obj; NULL when absent or not a string. Borrowed from obj. */
const char *saga_data_str(const cJSON *obj, const char *name);

/* The largest integer a double holds exactly (2^53): the widest range to ask for. */
#define SAGA_DATA_INT_MAX 9007199254740992LL

/* An integer member in [min, max] (a JSON number without fraction; the money and
 * quantities of the events are below 2^53, exact in a double). False, *out untouched,
 * when absent or not one. */
bool saga_data_int(const cJSON *obj, const char *name, long long min, long long max,
                   long long *out);

#endif
