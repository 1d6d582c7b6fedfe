/* payment_events.c - payment-service's event handlers (see payment_events.h).
 *
 * Locking: both handlers lock the customer's wallet row first (SELECT ... FOR
 * UPDATE). InventoryReserved and OrderCancelled of one order come on different
 * topics and may be handled at the same time by two instances; the wallet lock
 * serialises them, so a charge and the cancellation's refund check never
 * interleave. Under the lock, InventoryReserved checks cancelled_orders and then
 * payments (order_id is UNIQUE), so a replayed reservation never charges twice. */
#include "payment_events.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "saga/err.h"
#include "saga/log.h"
#include "saga/outbox.h"
#include "payment_store.h"

/* The fields of a consumed event's data this service uses (borrowed from the event). */
typedef struct event_fields {
    const char *order_id;
    const char *customer_id;
    const char *currency; /* InventoryReserved */
    const char *reason;   /* OrderCancelled */
    long long amount;     /* InventoryReserved */
} event_fields;

/* The gateway-error draws: one state per consumer thread, seeded once. */
static _Thread_local uint64_t draw_state;
static _Thread_local int draw_seeded;

static double draw_next(void)
{
    if (!draw_seeded) {
        if (getrandom(&draw_state, sizeof(draw_state), 0) != (ssize_t)sizeof(draw_state))
            draw_state = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)&draw_state;
        draw_seeded = 1;
    }
    return payment_draw(&draw_state);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

int payment_json_add_i64(cJSON *obj, const char *name, long long v)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%lld", v);
    return cJSON_AddRawToObject(obj, name, buf) ? SAGA_OK : SAGA_ERR_NOMEM;
}

/* A string member of data, or NULL. */
static const char *data_str(const cJSON *data, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(data, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Reads and checks the fields every handled event carries (the schema has been
 * checked already; these are the rules it cannot express). */
static int fields_read(const saga_event *ev, bool reserved, event_fields *f, saga_msg_meta *meta)
{
    const cJSON *data = ev->data;
    memset(f, 0, sizeof(*f));
    f->order_id = data_str(data, "orderId");
    f->customer_id = data_str(data, "customerId");
    if (!payment_uuid_valid(f->order_id)) {
        snprintf(meta->err, meta->errlen, "data.orderId is not a UUID");
        return SAGA_ERR_INVALID;
    }
    if (strcmp(f->order_id, ev->subject) != 0) {
        snprintf(meta->err, meta->errlen, "data.orderId %s differs from the subject", f->order_id);
        return SAGA_ERR_INVALID;
    }
    if (!payment_customer_id_valid(f->customer_id)) {
        snprintf(meta->err, meta->errlen, "data.customerId is not a valid customer id");
        return SAGA_ERR_INVALID;
    }
    if (!reserved) {
        f->reason = data_str(data, "reason");
        if (!f->reason || strlen(f->reason) > 20) {
            snprintf(meta->err, meta->errlen, "data.reason is missing or too long");
            return SAGA_ERR_INVALID;
        }
        return SAGA_OK;
    }
    f->currency = data_str(data, "currency");
    if (!f->currency || strlen(f->currency) != 3) {
        snprintf(meta->err, meta->errlen, "data.currency is not a currency code");
        return SAGA_ERR_INVALID;
    }
    const cJSON *amount = cJSON_GetObjectItemCaseSensitive(data, "amount");
    if (!cJSON_IsNumber(amount) || !payment_amount_from_double(amount->valuedouble, &f->amount)) {
        snprintf(meta->err, meta->errlen, "data.amount is not an amount of money");
        return SAGA_ERR_INVALID;
    }
    return SAGA_OK;
}

/* Writes a payment-events event about p to the outbox, caused by ev. */
static int emit(saga_db *db, const char *type, const payment_record *p, const saga_event *ev,
                const saga_msg_meta *meta)
{
    saga_event *out = NULL;
    cJSON *data = cJSON_CreateObject();
    int rc = SAGA_ERR_NOMEM;

    if (!data || !cJSON_AddStringToObject(data, "orderId", p->order_id) ||
        !cJSON_AddStringToObject(data, "customerId", p->customer_id) ||
        payment_json_add_i64(data, "amount", p->amount) ||
        !cJSON_AddStringToObject(data, "currency", p->currency))
        goto out;
    if (p->status == PAYMENT_DECLINED) {
        if (!cJSON_AddStringToObject(data, "reason", payment_decline_str(p->decline)))
            goto out;
    } else if (!cJSON_AddStringToObject(data, "paymentId", p->id)) {
        goto out;
    }
    out = saga_event_new(type, PAYMENT_SOURCE, p->order_id, p->order_id, ev->id, data);
    data = NULL; /* now owned by out (freed by saga_event_new on failure) */
    if (!out)
        goto out;
    rc = saga_outbox_add_event(db, PAYMENT_TOPIC, out, meta->traceparent);
out:
    cJSON_Delete(data);
    saga_event_free(out);
    return rc;
}

int payment_on_inventory_reserved(saga_db *db, const saga_event *ev, saga_msg_meta *meta, void *ud)
{
    const payment_ctx *ctx = ud;
    payment_wallet wallet;
    payment_record p;
    event_fields f;
    bool have_wallet;
    int rc;

    if ((rc = fields_read(ev, true, &f, meta)))
        return rc;
    saga_log_ids ids = {
        .order_id = f.order_id, .event_id = ev->id, .correlation_id = ev->correlationid};
    if (ctx->latency_ms > 0)
        sleep_ms(ctx->latency_ms); /* the simulated slow gateway: holds up the consumer */

    rc = payment_store_wallet_get(db, f.customer_id, true, &wallet);
    if (rc && rc != SAGA_ERR_NOT_FOUND)
        return rc;
    have_wallet = rc == SAGA_OK;

    rc = payment_store_cancelled_find(db, f.order_id, true);
    if (rc == SAGA_OK) {
        saga_log_ids(SAGA_LOG_INFO, "payment.skipped_cancelled", &ids,
                     "order was cancelled before its reservation arrived: not charged");
        return SAGA_OK;
    }
    if (rc != SAGA_ERR_NOT_FOUND)
        return rc;

    rc = payment_store_payment_get(db, f.order_id, true, &p);
    if (rc == SAGA_OK) {
        saga_log_ids(SAGA_LOG_INFO, "payment.already_decided", &ids,
                     "order already has a %s payment: not charged again",
                     payment_status_str(p.status));
        return SAGA_OK;
    }
    if (rc != SAGA_ERR_NOT_FOUND)
        return rc;

    memset(&p, 0, sizeof(p));
    saga_uuid_v4(p.id);
    snprintf(p.order_id, sizeof(p.order_id), "%s", f.order_id);
    snprintf(p.customer_id, sizeof(p.customer_id), "%s", f.customer_id);
    snprintf(p.currency, sizeof(p.currency), "%s", f.currency);
    p.amount = f.amount;
    double draw = ctx->rules.failure_rate > 0.0 ? draw_next() : 1.0;
    p.decline = payment_decide(have_wallet ? &wallet : NULL, f.amount, &ctx->rules, draw);
    p.status = p.decline == PAYMENT_DECLINE_NONE ? PAYMENT_CAPTURED : PAYMENT_DECLINED;

    rc = payment_store_payment_insert(db, &p);
    if (rc == SAGA_ERR_CONFLICT) {
        /* only possible without a wallet lock: another instance decided meanwhile */
        saga_log_ids(SAGA_LOG_INFO, "payment.already_decided", &ids,
                     "order got a payment meanwhile: not charged again");
        return SAGA_OK;
    }
    if (rc)
        return rc;
    if (p.status == PAYMENT_CAPTURED &&
        (rc = payment_store_wallet_move(db, f.customer_id, -f.amount)))
        return rc;
    rc =
        emit(db, p.status == PAYMENT_CAPTURED ? "PaymentCompleted" : "PaymentFailed", &p, ev, meta);
    if (rc)
        return rc;
    if (p.status == PAYMENT_CAPTURED)
        saga_log_ids(SAGA_LOG_INFO, "payment.captured", &ids, "captured %lld %s from %s", p.amount,
                     p.currency, p.customer_id);
    else
        saga_log_ids(SAGA_LOG_INFO, "payment.declined", &ids, "declined %lld %s for %s: %s",
                     p.amount, p.currency, p.customer_id, payment_decline_str(p.decline));
    return SAGA_OK;
}

int payment_on_order_cancelled(saga_db *db, const saga_event *ev, saga_msg_meta *meta, void *ud)
{
    payment_wallet wallet;
    payment_record p;
    event_fields f;
    bool added = false, have_wallet;
    int rc;
    (void)ud;

    if ((rc = fields_read(ev, false, &f, meta)))
        return rc;
    saga_log_ids ids = {
        .order_id = f.order_id, .event_id = ev->id, .correlation_id = ev->correlationid};

    /* the lock InventoryReserved takes: see the top of this file */
    rc = payment_store_wallet_get(db, f.customer_id, true, &wallet);
    if (rc && rc != SAGA_ERR_NOT_FOUND)
        return rc;
    have_wallet = rc == SAGA_OK;
    if ((rc = payment_store_cancelled_add(db, f.order_id, f.customer_id, f.reason, &added)))
        return rc;

    rc = payment_store_payment_get(db, f.order_id, true, &p);
    if (rc == SAGA_ERR_NOT_FOUND) {
        saga_log_ids(SAGA_LOG_INFO, "payment.cancel_recorded", &ids,
                     "order cancelled (%s) before any payment%s", f.reason,
                     added ? "" : " (seen before)");
        return SAGA_OK;
    }
    if (rc)
        return rc;
    if (!payment_refund_due(p.status)) {
        saga_log_ids(SAGA_LOG_INFO, "payment.nothing_to_refund", &ids,
                     "order cancelled (%s); its payment is %s", f.reason,
                     payment_status_str(p.status));
        return SAGA_OK;
    }
    if (!have_wallet || strcmp(p.customer_id, f.customer_id) != 0) {
        /* the money goes back where it came from: lock that wallet */
        rc = payment_store_wallet_get(db, p.customer_id, true, &wallet);
        if (rc == SAGA_ERR_NOT_FOUND) {
            snprintf(meta->err, meta->errlen, "the wallet of captured payment %s is gone", p.id);
            return SAGA_ERR_INVALID;
        }
        if (rc)
            return rc;
    }
    if ((rc = payment_store_wallet_move(db, p.customer_id, p.amount)) ||
        (rc = payment_store_payment_set_status(db, p.id, PAYMENT_REFUNDED)))
        return rc;
    p.status = PAYMENT_REFUNDED;
    if ((rc = emit(db, "PaymentRefunded", &p, ev, meta)))
        return rc;
    saga_log_ids(SAGA_LOG_INFO, "payment.refunded", &ids, "refunded %lld %s to %s (%s)", p.amount,
                 p.currency, p.customer_id, f.reason);
    return SAGA_OK;
}

const saga_handler payment_handlers[] = {
    {"InventoryReserved", payment_on_inventory_reserved},
    {"OrderCancelled", payment_on_order_cancelled},
};
const size_t payment_nhandlers = sizeof(payment_handlers) / sizeof(payment_handlers[0]);
