/* dlq_entry.h - one saga-dlq message as a dead-letter entry: its position, the
 * dead-letter headers (Spring Kafka's names, plus saga-service and saga-attempts),
 * the original key and payload, and what the payload says when it is a valid event.
 * What sagactl and saga-console share. */
#ifndef SAGA_DLQ_ENTRY_H
#define SAGA_DLQ_ENTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <librdkafka/rdkafka.h>

/* One message on saga-dlq. Strings are NUL-terminated copies (header values, NULL
 * when the header is absent); everything is owned by the entry. */
typedef struct dlq_entry {
    int32_t partition; /* where it is on saga-dlq */
    int64_t offset;
    int64_t timestamp;      /* when it was dead-lettered (ms since the epoch), -1 unknown */
    char *service;          /* saga-service */
    char *reason;           /* kafka_dlt-exception-fqcn */
    char *message;          /* kafka_dlt-exception-message */
    char *consumer_group;   /* kafka_dlt-original-consumer-group */
    char *orig_topic;       /* kafka_dlt-original-topic */
    int32_t orig_partition; /* kafka_dlt-original-partition, -1 unknown */
    int64_t orig_offset;    /* kafka_dlt-original-offset, -1 unknown */
    int64_t orig_timestamp; /* kafka_dlt-original-timestamp, -1 unknown */
    long attempts;          /* saga-attempts, -1 unknown */
    bool truncated;         /* saga-payload-truncated: the payload was cut when dead-lettered */
    void *key;              /* the message key, NULL if none */
    size_t key_len;
    void *payload; /* the payload (may be empty; NULL only for dlq list) */
    size_t len;
    rd_kafka_headers_t *headers; /* a copy of all headers, NULL if none */
    /* from the payload, when it is a valid envelope (else NULL) */
    char *event_type;
    char *event_id;
    char *order_id;       /* the subject */
    char *correlation_id; /* NULL also when the envelope has none */
} dlq_entry;

/* Fills e (zeroed by the caller) from rkm (borrowed). Returns SAGA_OK or
 * SAGA_ERR_NOMEM (e then holds what it got: free it with dlq_entry_free). */
int dlq_entry_fill(dlq_entry *e, const rd_kafka_message_t *rkm);

/* Frees what e holds and zeroes it (the struct itself is the caller's). */
void dlq_entry_free(dlq_entry *e);

#endif
