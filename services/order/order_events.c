/* order_events.c - what order-service consumes and emits (see order_events.h). */
#include "order_events.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "order_request.h"
#include "order_service.h"
#include "order_store.h"
#include "saga/clock.h"
#include "saga/err.h"
#include "saga/handler.h"
#include "saga/log.h"
#include "saga/outbox.h"

/* --- helpers --- */

/* Writes event `type` with `data` (taken over) for order o to the outbox and adds
 * its emitted history row. */
static int emit(saga_db *db, const order *o, const char *type, cJSON *data, const char *causation,
                const char *traceparent, long long now_ms)
{
    saga_event *ev = NULL;
    char *detail = NULL;
    int rc = SAGA_ERR_NOMEM;

    if (!data) /* a builder ran out of memory: never emit an empty object */
        goto out;
    ev = saga_event_new(type, ORDER_SOURCE, o->id, o->id, causation, data);
    data = NULL; /* now owned by ev */
    if (!ev)
        goto out;
    if ((rc = saga_outbox_add_event(db, ORDER_TOPIC, ev, traceparent)))
        goto out;
    if (!(detail = cJSON_PrintUnformatted(ev->data))) {
        rc = SAGA_ERR_NOMEM;
        goto out;
    }
    rc = order_store_history_add(db, o->id, ev->id, type, "emitted", o->status, detail, now_ms);
    if (rc == SAGA_OK) {
        saga_log_ids ids = {.order_id = o->id, .event_id = ev->id, .correlation_id = o->id};
        saga_log_ids(SAGA_LOG_DEBUG, "order.emitted", &ids, "%s (order %s)", type,
                     order_status_str(o->status));
    }
out:
    cJSON_Delete(data);
    cJSON_free(detail);
    saga_event_free(ev);
    return rc;
}

/* --- consumed events --- */

/* InventoryReserved: the amount, and the unit prices of the lines. */
static int apply_reserved(saga_db *db, const saga_event *ev, const order_step *st, order *o)
{
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(ev->data, "items");
    const cJSON *item;
    long long amount = 0;
    int rc;

    if (!saga_data_int(ev->data, "amount", -SAGA_DATA_INT_MAX, SAGA_DATA_INT_MAX, &amount))
        return SAGA_ERR_INVALID;
    if (st->record_amount) {
        o->has_amount = true;
        o->amount = amount;
    } else if (st->record_prices && o->has_amount && o->amount != amount) {
        saga_log_ids ids = {.order_id = o->id, .event_id = ev->id};
        saga_log_ids(SAGA_LOG_WARN, "order.amount_mismatch", &ids,
                     "inventory reserved %lld but the order was paid %lld", amount, o->amount);
    }
    if (!st->record_prices)
        return SAGA_OK;
    cJSON_ArrayForEach(item, items)
    {
        const cJSON *sku = cJSON_GetObjectItemCaseSensitive(item, "sku");
        long long price = 0;
        if (!cJSON_IsString(sku) ||
            !saga_data_int(item, "unitPrice", -SAGA_DATA_INT_MAX, SAGA_DATA_INT_MAX, &price))
            continue;
        if ((rc = order_store_set_price(db, o->id, sku->valuestring, price)))
            return rc;
    }
    return SAGA_OK;
}

int order_events_handle(saga_db *db, const saga_event *ev, saga_msg_meta *meta, void *ud)
{
    order_service *app = ud;
    order *o = NULL;
    order_input in;
    order_step st;
    char *detail = NULL;
    long long now = saga_clock_wall_ms();
    int rc;

    if (order_input_from_type(ev->type, &in) != SAGA_OK)
        return saga_event_reject(meta, "order-service does not handle %s", ev->type);
    const char *order_id = saga_data_str(ev->data, "orderId");
    const char *customer = saga_data_str(ev->data, "customerId");
    const char *currency = saga_data_str(ev->data, "currency");
    if (!order_id)
        return saga_event_reject(meta, "%s without data.orderId", ev->type);
    if (strcmp(ev->subject, order_id) != 0)
        return saga_event_reject(meta, "subject %.64s is not data.orderId %.64s", ev->subject,
                                 order_id);
    if (!(o = malloc(sizeof(*o))))
        return SAGA_ERR_NOMEM;

    rc = order_store_lock(db, order_id, o);
    if (rc == SAGA_ERR_NOT_FOUND) {
        rc = saga_event_reject(meta, "unknown order %.64s", order_id);
        goto out;
    }
    if (rc)
        goto out;
    if (customer && strcmp(customer, o->customer_id) != 0) {
        rc = saga_event_reject(meta, "customerId %.64s is not the customer of order %s", customer,
                               o->id);
        goto out;
    }
    if (currency && strcmp(currency, o->currency) != 0) {
        rc = saga_event_reject(meta, "currency %.8s is not the currency of order %s (%s)", currency,
                               o->id, o->currency);
        goto out;
    }
    if ((rc = order_step_decide(o->status, in, &st)))
        goto out;
    order_status previous = o->status;

    if (in == ORDER_IN_INVENTORY_RESERVED && (rc = apply_reserved(db, ev, &st, o))) {
        if (rc == SAGA_ERR_INVALID)
            rc = saga_event_reject(meta, "InventoryReserved without an amount");
        goto out;
    }
    if (st.record_payment) {
        long long amount = 0;
        const char *payment_id = saga_data_str(ev->data, "paymentId");
        if (!saga_data_int(ev->data, "amount", -SAGA_DATA_INT_MAX, SAGA_DATA_INT_MAX, &amount) ||
            !payment_id) {
            rc = saga_event_reject(meta, "PaymentCompleted without amount or paymentId");
            goto out;
        }
        if (o->has_amount && o->amount != amount) {
            rc = saga_event_reject(meta,
                                   "payment of %lld for order %s, whose reserved amount is %lld",
                                   amount, o->id, o->amount);
            goto out;
        }
        o->has_amount = true;
        o->amount = amount;
        snprintf(o->payment_id, sizeof(o->payment_id), "%s", payment_id);
    }
    if (st.changed) {
        o->status = st.next;
        if (st.emit == ORDER_EMIT_CANCELLED)
            o->reason = st.reason;
    }
    if ((st.changed || st.record_amount || st.record_payment) &&
        (rc = order_store_update(db, o, now)))
        goto out;

    if (!(detail = cJSON_PrintUnformatted(ev->data))) {
        rc = SAGA_ERR_NOMEM;
        goto out;
    }
    if ((rc = order_store_history_add(db, o->id, ev->id, ev->type, "consumed", o->status, detail,
                                      now)))
        goto out;
    if (st.emit == ORDER_EMIT_CONFIRMED)
        rc = emit(db, o, "OrderConfirmed", order_confirmed_data(o), ev->id, meta->traceparent, now);
    else if (st.emit == ORDER_EMIT_CANCELLED)
        rc = emit(db, o, "OrderCancelled", order_cancelled_data(o, st.reason, previous), ev->id,
                  meta->traceparent, now);
    if (rc)
        goto out;

    saga_log_ids ids = {.order_id = o->id, .event_id = ev->id, .correlation_id = o->id};
    saga_log_ids(SAGA_LOG_DEBUG, "order.consumed", &ids, "%s: %s -> %s", ev->type,
                 order_status_str(previous), order_status_str(o->status));
    /* waiters are woken once the batch has committed: what they re-read then is
     * the settled order */
    if (st.changed && order_status_settled(o->status) && app)
        rc = order_watch_after_commit(&app->watch, db, o->id);
out:
    cJSON_free(detail);
    free(o);
    return rc;
}

/* --- API and sweeper transitions --- */

int order_events_create(saga_db *db, const order_creation *job)
{
    const order *o = job->o;
    const char *traceparent = job->traceparent;
    cJSON *api = cJSON_CreateObject();
    char *detail = NULL;
    long long now = saga_clock_wall_ms();
    int rc = SAGA_ERR_NOMEM;

    if (!api || (job->idem_key && !cJSON_AddStringToObject(api, "idempotencyKey", job->idem_key)) ||
        (traceparent && !cJSON_AddStringToObject(api, "traceparent", traceparent)) ||
        !(detail = cJSON_PrintUnformatted(api)))
        goto out;
    if (job->idem_key &&
        (rc = order_store_idem_insert(db, o->customer_id, job->idem_key, job->hash, o->id, now)))
        goto out;
    if ((rc = order_store_insert(db, o)))
        goto out;
    if ((rc = order_store_history_add(db, o->id, NULL, "CreateOrder", "api", o->status, detail,
                                      now)))
        goto out;
    rc = emit(db, o, "OrderCreated", order_created_data(o), NULL, traceparent, now);
out:
    cJSON_free(detail);
    cJSON_Delete(api);
    return rc;
}

#define TRACE_FOUND 100 /* trace_row's stop value: not a saga_rc */

typedef struct trace_ctx {
    char tp[ORDER_TRACEPARENT_LEN + 1];
} trace_ctx;

static int trace_row(const order_history_row *row, void *ud)
{
    trace_ctx *t = ud;
    cJSON *d = row->detail ? cJSON_Parse(row->detail) : NULL;
    const cJSON *tp = cJSON_GetObjectItemCaseSensitive(d, "traceparent");
    if (strcmp(row->kind, "api") == 0 && cJSON_IsString(tp) &&
        order_traceparent_valid(tp->valuestring))
        snprintf(t->tp, sizeof(t->tp), "%s", tp->valuestring);
    cJSON_Delete(d);
    return t->tp[0] ? TRACE_FOUND : 0; /* the creation's api row comes first */
}

int order_events_cancel(saga_db *db, const char *order_id, order_input in, const char *traceparent,
                        order *out, bool *changed)
{
    order_step st;
    trace_ctx trace = {.tp = ""};
    char *detail = NULL;
    long long now = saga_clock_wall_ms();
    int rc;

    *changed = false;
    if (in != ORDER_IN_TIMEOUT && in != ORDER_IN_CUSTOMER_CANCEL)
        return SAGA_ERR_INVALID;
    if ((rc = order_store_lock(db, order_id, out)))
        return rc;
    if ((rc = order_step_decide(out->status, in, &st)) || !st.changed)
        return rc;
    order_status previous = out->status;
    out->status = st.next;
    out->reason = st.reason;
    if ((rc = order_store_update(db, out, now)))
        return rc;

    if (!traceparent) {
        /* the trace the order was created in, so that its whole saga is one trace */
        rc = order_store_history(db, out->id, trace_row, &trace);
        if (rc != SAGA_OK && rc != TRACE_FOUND)
            return rc;
        traceparent = trace.tp[0] ? trace.tp : NULL;
    }
    if (in == ORDER_IN_CUSTOMER_CANCEL) {
        cJSON *api = cJSON_CreateObject();
        bool ok = api && cJSON_AddStringToObject(api, "reason", order_reason_str(st.reason)) &&
                  cJSON_AddStringToObject(api, "previousStatus", order_status_str(previous)) &&
                  (!traceparent || cJSON_AddStringToObject(api, "traceparent", traceparent)) &&
                  (detail = cJSON_PrintUnformatted(api));
        cJSON_Delete(api);
        if (!ok)
            return SAGA_ERR_NOMEM;
        rc = order_store_history_add(db, out->id, NULL, "CancelOrder", "api", out->status, detail,
                                     now);
        cJSON_free(detail);
        if (rc)
            return rc;
    }
    rc = emit(db, out, "OrderCancelled", order_cancelled_data(out, st.reason, previous), NULL,
              traceparent, now);
    if (rc == SAGA_OK)
        *changed = true;
    return rc;
}

/* every handler locks its order first: the consumer locks the batch's orders at once */
#define ORDER_LOCK                                                                                 \
    {                                                                                              \
        {                                                                                          \
            &order_lock_query, "orderId", NULL                                                     \
        }                                                                                          \
    }

const saga_handler order_handlers[] = {
    {"InventoryReserved", order_events_handle, ORDER_LOCK},
    {"InventoryShortage", order_events_handle, ORDER_LOCK},
    {"InventoryReleased", order_events_handle, ORDER_LOCK},
    {"PaymentCompleted", order_events_handle, ORDER_LOCK},
    {"PaymentFailed", order_events_handle, ORDER_LOCK},
    {"PaymentRefunded", order_events_handle, ORDER_LOCK},
};
const size_t order_nhandlers = sizeof(order_handlers) / sizeof(order_handlers[0]);
