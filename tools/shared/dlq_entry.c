/* dlq_entry.c - a saga-dlq message as a dead-letter entry (see dlq_entry.h). */
#include "dlq_entry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "saga/envelope.h"
#include "saga/err.h"

#define HDR_SERVICE "saga-service"
#define HDR_REASON "kafka_dlt-exception-fqcn"
#define HDR_MESSAGE "kafka_dlt-exception-message"
#define HDR_GROUP "kafka_dlt-original-consumer-group"
#define HDR_TOPIC "kafka_dlt-original-topic"
#define HDR_PARTITION "kafka_dlt-original-partition"
#define HDR_OFFSET "kafka_dlt-original-offset"
#define HDR_TIMESTAMP "kafka_dlt-original-timestamp"
#define HDR_ATTEMPTS "saga-attempts"
#define HDR_TRUNCATED "saga-payload-truncated"

static char *dup_bytes(const void *p, size_t len)
{
    char *s = malloc(len + 1);
    if (!s)
        return NULL;
    if (len)
        memcpy(s, p, len);
    s[len] = '\0';
    return s;
}

/* A header's last value as a string; NULL if absent (or no memory: *oom set). */
static char *header_dup(rd_kafka_headers_t *hdrs, const char *name, bool *oom)
{
    const void *val = NULL;
    size_t size = 0;
    char *s;
    if (!hdrs || rd_kafka_header_get_last(hdrs, name, &val, &size) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return NULL;
    if (!(s = dup_bytes(val ? val : "", val ? size : 0)))
        *oom = true;
    return s;
}

/* A header's integer value; def when absent or not an integer. */
static long long header_ll(rd_kafka_headers_t *hdrs, const char *name, long long def)
{
    const void *val = NULL;
    size_t size = 0;
    char buf[32], *end = NULL;
    if (!hdrs || rd_kafka_header_get_last(hdrs, name, &val, &size) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        !val || size == 0 || size >= sizeof(buf))
        return def;
    memcpy(buf, val, size);
    buf[size] = '\0';
    long long v = strtoll(buf, &end, 10);
    return end && *end == '\0' ? v : def;
}

void dlq_entry_free(dlq_entry *e)
{
    free(e->service);
    free(e->reason);
    free(e->message);
    free(e->consumer_group);
    free(e->orig_topic);
    free(e->key);
    free(e->payload);
    if (e->headers)
        rd_kafka_headers_destroy(e->headers);
    free(e->event_type);
    free(e->event_id);
    free(e->order_id);
    free(e->correlation_id);
    memset(e, 0, sizeof(*e));
}

int dlq_entry_fill(dlq_entry *e, const rd_kafka_message_t *rkm)
{
    rd_kafka_headers_t *hdrs = NULL;
    saga_event *ev = NULL;
    char why[256];
    bool oom = false;

    e->partition = rkm->partition;
    e->offset = rkm->offset;
    e->timestamp = rd_kafka_message_timestamp(rkm, NULL);
    if (rd_kafka_message_headers(rkm, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR)
        hdrs = NULL; /* none */
    e->service = header_dup(hdrs, HDR_SERVICE, &oom);
    e->reason = header_dup(hdrs, HDR_REASON, &oom);
    e->message = header_dup(hdrs, HDR_MESSAGE, &oom);
    e->consumer_group = header_dup(hdrs, HDR_GROUP, &oom);
    e->orig_topic = header_dup(hdrs, HDR_TOPIC, &oom);
    e->orig_partition = (int32_t)header_ll(hdrs, HDR_PARTITION, -1);
    e->orig_offset = header_ll(hdrs, HDR_OFFSET, -1);
    e->orig_timestamp = header_ll(hdrs, HDR_TIMESTAMP, -1);
    e->attempts = (long)header_ll(hdrs, HDR_ATTEMPTS, -1);
    if (e->orig_partition < -1)
        e->orig_partition = -1;
    {
        char *t = header_dup(hdrs, HDR_TRUNCATED, &oom);
        e->truncated = t && !strcmp(t, "true");
        free(t);
    }
    if (hdrs && !(e->headers = rd_kafka_headers_copy(hdrs)))
        oom = true;
    if (rkm->key && rkm->key_len > 0) {
        if (!(e->key = dup_bytes(rkm->key, rkm->key_len)))
            oom = true;
        e->key_len = rkm->key_len;
    }
    if (!(e->payload = dup_bytes(rkm->payload ? rkm->payload : "", rkm->payload ? rkm->len : 0)))
        oom = true;
    e->len = rkm->payload ? rkm->len : 0;
    if (oom)
        return SAGA_ERR_NOMEM;
    if (saga_event_parse(e->payload, e->len, &ev, why, sizeof(why)) == SAGA_OK) {
        e->event_type = dup_bytes(ev->type, strlen(ev->type));
        e->event_id = dup_bytes(ev->id, strlen(ev->id));
        e->order_id = dup_bytes(ev->subject, strlen(ev->subject));
        if (ev->correlationid &&
            !(e->correlation_id = dup_bytes(ev->correlationid, strlen(ev->correlationid))))
            oom = true;
        saga_event_free(ev);
        if (oom || !e->event_type || !e->event_id || !e->order_id)
            return SAGA_ERR_NOMEM;
    }
    return SAGA_OK;
}
