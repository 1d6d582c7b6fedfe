/* notification_events.c - OrderCreated recorded, OrderConfirmed / OrderCancelled in,
 * NotificationSent out (see notification_events.h). */
#include "notification_events.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <cjson/cJSON.h>

#include "saga/clock.h"
#include "saga/err.h"
#include "saga/handler.h"
#include "saga/log.h"
#include "saga/outbox.h"
#include "notification.h"
#include "notification_delivery.h"
#include "notification_service.h"

/* OrderCreated: the order and its customer, recorded once (known_orders), so that its
 * OrderConfirmed / OrderCancelled can be told from events about orders nobody created. */
static int on_order_created(saga_db *db, const saga_event *ev, saga_msg_meta *meta, void *ud)
{
    notification_order o;
    char known[NOTIFY_CUSTOMER_ID_MAX + 1];
    saga_log_ids log_ids = {.event_id = ev->id, .correlation_id = ev->correlationid};
    bool added = false;
    int rc;

    (void)ud;
    if (notification_order_from_created(ev->data, &o, meta->err, meta->errlen) != SAGA_OK)
        return SAGA_ERR_INVALID;
    if (strcmp(ev->subject, o.order_id) != 0)
        return saga_event_reject(meta, "subject %.64s is not data.orderId %s", ev->subject,
                                 o.order_id);
    log_ids.order_id = o.order_id;
    if ((rc = notification_store_known_add(db, &o, &added)))
        return rc;
    if (added)
        return SAGA_OK;
    if ((rc = notification_store_known_get(db, o.order_id, known)))
        return rc;
    if (notification_order_check(known, o.customer_id) != SAGA_OK)
        return saga_event_reject(meta, "order %s was created for another customer", o.order_id);
    saga_log_ids(SAGA_LOG_INFO, "notification.created_again", &log_ids,
                 "order was seen created before: nothing to record");
    return SAGA_OK;
}

static void wake_delivery(void *d)
{
    notification_delivery_wake(d);
}

/* OrderConfirmed, OrderCancelled: one PENDING notification per configured channel. The
 * inbox has already skipped a redelivered event id; the unique (order, trigger, channel)
 * key makes a replay under a new id add nothing either. */
static int on_order_terminal(saga_db *db, const saga_event *ev, saga_msg_meta *meta, void *ud)
{
    notification_delivery *d = ((notification_service *)ud)->delivery;
    unsigned mask = notification_delivery_channels(d);
    notification_msg m;
    notification_new rows[NOTIFY_CH_COUNT];
    char ids[NOTIFY_CH_COUNT][SAGA_UUID_LEN + 1];
    char *payloads[NOTIFY_CH_COUNT] = {0};
    char created_sql[SAGA_DB_TIME_LEN + 1];
    char known[NOTIFY_CUSTOMER_ID_MAX + 1];
    saga_log_ids log_ids = {.event_id = ev->id, .correlation_id = ev->correlationid};
    long long now_ms = saga_clock_wall_ms();
    uint64_t added = 0;
    size_t n = 0;
    int rc;

    if (notification_msg_from_event(ev->type, ev->data, &m, meta->err, meta->errlen) != SAGA_OK)
        return SAGA_ERR_INVALID;
    if (strcmp(ev->subject, m.order_id) != 0)
        return saga_event_reject(meta, "subject %.64s is not data.orderId %s", ev->subject,
                                 m.order_id);
    if (strlen(ev->id) > NOTIFY_EVENT_ID_MAX)
        return saga_event_reject(meta, "event id longer than %d characters", NOTIFY_EVENT_ID_MAX);
    log_ids.order_id = m.order_id;
    rc = notification_store_known_get(db, m.order_id, known);
    if (rc && rc != SAGA_ERR_NOT_FOUND)
        return rc;
    rc = notification_order_check(rc == SAGA_OK ? known : NULL, m.customer_id);
    if (rc == SAGA_ERR_NOT_FOUND)
        return saga_event_reject(meta, "unknown order %s", m.order_id);
    if (rc)
        return saga_event_reject(meta, "customerId %s is not the customer of order %s",
                                 m.customer_id, m.order_id);
    saga_time_format_ms(now_ms, m.created_at);
    saga_db_time_from_ms(now_ms, created_sql);
    for (int ch = 0; ch < NOTIFY_CH_COUNT; ch++) {
        if (!(mask & NOTIFY_CH_BIT(ch)))
            continue;
        saga_uuid_v7(ids[n]);
        memcpy(m.id, ids[n], sizeof(m.id));
        if (!(payloads[n] = notification_payload_print(&m))) {
            rc = SAGA_ERR_NOMEM;
            goto out;
        }
        rows[n] = (notification_new){
            .id = ids[n],
            .order_id = m.order_id,
            .customer_id = m.customer_id,
            .trigger = m.trigger,
            .trigger_event_id = ev->id,
            .channel = (notification_channel)ch,
            .payload = payloads[n],
            .traceparent = meta->traceparent && *meta->traceparent ? meta->traceparent : NULL,
            .created_at = created_sql,
        };
        n++;
    }
    rc = notification_store_add(db, rows, n, &added);
    if (rc != SAGA_OK)
        goto out;
    if (added > 0) {
        /* the delivery threads see the rows once they are committed (were there no
         * room for the call, the next poll would find them) */
        (void)saga_db_after_commit(db, wake_delivery, d);
        saga_log_ids(SAGA_LOG_DEBUG, "notification.created", &log_ids,
                     "%llu notification(s) for %s", (unsigned long long)added, ev->type);
    } else {
        saga_log_ids(SAGA_LOG_INFO, "notification.duplicate", &log_ids,
                     "notifications for this order's %s exist already: nothing added", ev->type);
    }
out:
    for (size_t i = 0; i < NOTIFY_CH_COUNT; i++)
        cJSON_free(payloads[i]);
    return rc;
}

const saga_handler notification_handlers[] = {
    {.event_type = "OrderCreated", .fn = on_order_created},
    {"OrderConfirmed", on_order_terminal, {{&notification_known_query, "orderId", NULL}}},
    {"OrderCancelled", on_order_terminal, {{&notification_known_query, "orderId", NULL}}},
};
const size_t notification_nhandlers =
    sizeof(notification_handlers) / sizeof(notification_handlers[0]);
