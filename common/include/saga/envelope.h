/* envelope.h - CloudEvents 1.0 structured-JSON envelope: build, print, parse.
 *
 * {"specversion":"1.0","id":<uuid>,"source":"/order-service","type":"OrderCreated",
 *  "time":"2026-11-22T10:00:00.123Z","subject":<order id>,
 *  "datacontenttype":"application/json","dataschema":"urn:saga:schema:OrderCreated:1",
 *  "correlationid":<order id>,"causationid":<id of the causing event>,"data":{...}} */
#ifndef SAGA_ENVELOPE_H
#define SAGA_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#define SAGA_UUID_LEN 36
#define SAGA_TIME_LEN 24 /* "2026-11-22T10:00:00.123Z" */

typedef struct saga_event {
    char *id;
    char *source;
    char *type;
    char *time;
    char *subject;         /* the order id: also the Kafka key */
    char *dataschema;      /* may be NULL when parsed */
    char *correlationid;   /* may be NULL when parsed */
    char *causationid;     /* may be NULL (a saga's first event) */
    cJSON *data;           /* owned by the event; a JSON object */
    cJSON *doc;            /* parsed events only: the whole document, for schema validation */
} saga_event;
/* In a parsed event, data is borrowed from doc (it is doc's "data" member, not a copy);
 * saga_event_free frees doc, and data separately only when it is not that member. To keep
 * the data after the event is freed, cJSON_Duplicate it. */

/* Writes a time-ordered (version 7, RFC 9562) UUID and a terminating NUL to out, in
 * lowercase 8-4-4-4-12 form: 48 bits of Unix time in milliseconds, a 12-bit counter
 * (rand_a, method 1 of RFC 9562 section 6.2: started at a random value below 2048 in
 * each new millisecond, incremented within one), 62 random bits. Process-wide
 * monotonic: every id is greater, as bytes and as text, than every id this process
 * generated before it, whatever the thread; when more than ~2048 ids are made within
 * one millisecond, or the clock steps back, the embedded time runs ahead of the clock
 * until it catches up. Thread-safe (one atomic compare-and-swap). Every id the
 * services make (orders, events, payments, notifications) is one of these: new rows
 * land at the right-hand end of each primary key instead of on a random page. */
void saga_uuid_v7(char out[SAGA_UUID_LEN + 1]);
/* The step of saga_uuid_v7's state (unix_ts_ms << 12 | counter), for tests: given the
 * last state, the clock in ms and 16 random bits, the next state (always > last). */
uint64_t saga_uuid_v7_next(uint64_t last, uint64_t now_ms, uint16_t seed);
/* Writes a random (version 4) UUID and a terminating NUL to out. Thread-safe. For
 * tokens and test data; identifiers the services store are saga_uuid_v7. */
void saga_uuid_v4(char out[SAGA_UUID_LEN + 1]);

/* Writes the current UTC time as RFC 3339 with milliseconds ("...T10:00:00.123Z"). */
void saga_time_now(char out[SAGA_TIME_LEN + 1]);
/* Same for a given time in milliseconds since the epoch. */
void saga_time_format_ms(long long epoch_ms, char out[SAGA_TIME_LEN + 1]);

/* Builds a new event with a fresh id and the current time. type, source and subject must
 * not be NULL (NULL is returned); a NULL data becomes an empty object. dataschema is
 * "urn:saga:schema:<type>:1". `data` is taken over (freed with the event, also on
 * failure). correlationid and causationid may be NULL. Returns NULL only when
 * memory runs out. Free with saga_event_free. */
saga_event *saga_event_new(const char *type, const char *source, const char *subject,
                           const char *correlationid, const char *causationid, cJSON *data);

/* Prints the envelope as compact JSON. Caller frees with cJSON_free. NULL on no memory. */
char *saga_event_print(const saga_event *ev);

/* Parses a structured-mode CloudEvent from buf (not necessarily NUL-terminated).
 * Checks that it is a JSON object with specversion "1.0", non-empty string id,
 * source, type, time and subject, optional string dataschema/correlationid/
 * causationid, and an object `data`; also rejects a datacontenttype other than
 * "application/json", trailing bytes after the document, and a member name repeated in
 * any object ("duplicate key: amount"). Returns SAGA_OK and *out (free with
 * saga_event_free), or SAGA_ERR_INVALID with a reason in err:
 * "invalid json at byte 12", "missing attribute: id", "specversion must be 1.0". */
int saga_event_parse(const char *buf, size_t len, saga_event **out, char *err, size_t errlen);

/* Frees ev and everything it owns. NULL is fine. */
void saga_event_free(saga_event *ev);

#endif
