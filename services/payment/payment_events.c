/* payment_events.c - payment-service's event handlers (see payment_events.h).
 *
 * Locking: every handler locks the customer's wallet row first (SELECT ... FOR
 * UPDATE), then the order's known_orders row. InventoryReserved and OrderCancelled of
 * one order come on different topics and may be handled at the same time by two
 * instances; the wallet lock serialises them, so a charge and the cancellation's
 * refund check never interleave. Under the lock, InventoryReserved checks
 * cancelled_orders and then payments (order_id is UNIQUE), so a replayed reservation
 * never charges twice.
 *
 * Parking: a reservation for an order not in known_orders is parked, and then
 * known_orders is read again with a locking read. OrderCreated inserts into
 * known_orders and then reads pending_reservations with a locking read. Whichever of
 * the two commits second sees the other's row (or they deadlock, and the loser's
 * batch is retried), so a reservation is never left parked for an order that is known. */
#include "payment_events.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "saga/clock.h"
#include "saga/err.h"
#include "saga/handler.h"
#include "saga/log.h"
#include "saga/metrics.h"
#include "saga/outbox.h"
#include "saga/random.h"
#include "saga/service.h"
#include "payment_service.h"
#include "payment_store.h"

/* The fields of a consumed event's data this service uses (borrowed from the event). */
typedef struct event_fields {
    const char *order_id;
    const char *customer_id;
    const char *currency; /* InventoryReserved */
    const char *reason;   /* OrderCancelled */
    long long amount;     /* InventoryReserved */
} event_fields;

/* Which event's fields fields_read checks. */
typedef enum fields_kind {
    FIELDS_CREATED = 0, /* OrderCreated: the ids */
    FIELDS_RESERVED,    /* InventoryReserved: the ids, amount and currency */
    FIELDS_CANCELLED,   /* OrderCancelled: the ids and the reason */
} fields_kind;

/* The gateway-error draws: one state per consumer thread, seeded once. */
static _Thread_local uint64_t draw_state;
static _Thread_local int draw_seeded;

static double draw_next(void)
{
    if (!draw_seeded) {
        if (saga_random_fill(&draw_state, sizeof(draw_state)) != SAGA_OK)
            draw_state = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)&draw_state;
        draw_seeded = 1;
    }
    return payment_draw(&draw_state);
}

/* Reads and checks the fields every handled event carries (the schema has been
 * checked already; these are the rules it cannot express). */
static int fields_read(const saga_event *ev, fields_kind kind, event_fields *f, saga_msg_meta *meta)
{
    const cJSON *data = ev->data;
    memset(f, 0, sizeof(*f));
    f->order_id = saga_data_str(data, "orderId");
    f->customer_id = saga_data_str(data, "customerId");
    if (!payment_uuid_valid(f->order_id))
        return saga_event_reject(meta, "data.orderId is not a UUID");
    if (strcmp(f->order_id, ev->subject) != 0)
        return saga_event_reject(meta, "data.orderId %s differs from the subject", f->order_id);
    if (!payment_customer_id_valid(f->customer_id))
        return saga_event_reject(meta, "data.customerId is not a valid customer id");
    if (kind == FIELDS_CREATED)
        return SAGA_OK;
    if (kind == FIELDS_CANCELLED) {
        f->reason = saga_data_str(data, "reason");
        if (!f->reason || strlen(f->reason) > 20)
            return saga_event_reject(meta, "data.reason is missing or too long");
        return SAGA_OK;
    }
    f->currency = saga_data_str(data, "currency");
    if (!f->currency || strlen(f->currency) != 3)
        return saga_event_reject(meta, "data.currency is not a currency code");
    if (!saga_data_int(data, "amount", 0, PAYMENT_MONEY_MAX, &f->amount))
        return saga_event_reject(meta, "data.amount is not an amount of money");
    return SAGA_OK;
}

/* Writes a payment-events event about p to the outbox, caused by the event with id
 * causation, passing traceparent on. */
static int emit(saga_db *db, const char *type, const payment_record *p, const char *causation,
                const char *traceparent)
{
    saga_event *out = NULL;
    cJSON *data = payment_event_data(p);
    int rc = SAGA_ERR_NOMEM;

    if (!data)
        goto out;
    out = saga_event_new(type, PAYMENT_SOURCE, p->order_id, p->order_id, causation, data);
    data = NULL; /* now owned by out (freed by saga_event_new on failure) */
    if (!out)
        goto out;
    rc = saga_outbox_add_event(db, PAYMENT_TOPIC, out, traceparent);
out:
    cJSON_Delete(data);
    saga_event_free(out);
    return rc;
}

/* A reservation to decide on: an InventoryReserved's data, or a parked one. */
typedef struct reservation {
    const char *order_id;
    const char *customer_id;
    const char *currency;
    const char *event_id; /* the InventoryReserved: the causation of what is emitted */
    long long amount;
} reservation;

/* Every handler's first step (see the top of this file): locks the customer's
 * wallet row, which may not exist; *have says whether it does. */
static int wallet_lock(saga_db *db, const char *customer_id, payment_wallet *wallet, bool *have)
{
    int rc = payment_store_wallet_get(db, customer_id, true, wallet);
    *have = rc == SAGA_OK;
    return rc == SAGA_ERR_NOT_FOUND ? SAGA_OK : rc;
}

/* Reads what payment knows of the order (cancelled, has a payment) into v, whose
 * known_customer the caller has set. */
static int order_view_read(saga_db *db, const char *order_id, payment_order_view *v)
{
    payment_record p;
    int rc = payment_store_cancelled_find(db, order_id, true);
    if (rc && rc != SAGA_ERR_NOT_FOUND)
        return rc;
    v->cancelled = rc == SAGA_OK;
    rc = payment_store_payment_get(db, order_id, true, &p);
    if (rc && rc != SAGA_ERR_NOT_FOUND)
        return rc;
    v->has_payment = rc == SAGA_OK;
    return SAGA_OK;
}

/* Decides the charge of r to its customer's wallet (locked by the caller: NULL if the
 * customer has none) with the decline rules: a DECLINED row and PaymentFailed, or
 * balance -= amount, a CAPTURED row and PaymentCompleted. */
static int reservation_charge(saga_db *db, const payment_service *ctx, const reservation *r,
                              const payment_wallet *wallet, const char *traceparent,
                              const saga_log_ids *ids)
{
    payment_record p;
    int rc;

    /* the simulated slow gateway: holds up the consumer */
    if (ctx->latency_ms > 0)
        saga_clock_sleep_ms(ctx->latency_ms);
    memset(&p, 0, sizeof(p));
    saga_uuid_v7(p.id);
    snprintf(p.order_id, sizeof(p.order_id), "%s", r->order_id);
    snprintf(p.customer_id, sizeof(p.customer_id), "%s", r->customer_id);
    snprintf(p.currency, sizeof(p.currency), "%s", r->currency);
    p.amount = r->amount;
    double draw = ctx->rules.failure_rate > 0.0 ? draw_next() : 1.0;
    p.decline = payment_decide(wallet, r->amount, &ctx->rules, draw);
    p.status = p.decline == PAYMENT_DECLINE_NONE ? PAYMENT_CAPTURED : PAYMENT_DECLINED;

    rc = payment_store_payment_insert(db, &p);
    if (rc == SAGA_ERR_CONFLICT) {
        /* only possible without a wallet lock: another instance decided meanwhile */
        saga_log_ids(SAGA_LOG_INFO, "payment.already_decided", ids,
                     "order got a payment meanwhile: not charged again");
        return SAGA_OK;
    }
    if (rc)
        return rc;
    if (p.status == PAYMENT_CAPTURED &&
        (rc = payment_store_wallet_move(db, r->customer_id, -r->amount)))
        return rc;
    rc = emit(db, p.status == PAYMENT_CAPTURED ? "PaymentCompleted" : "PaymentFailed", &p,
              r->event_id, traceparent);
    if (rc)
        return rc;
    if (p.status == PAYMENT_CAPTURED)
        saga_log_ids(SAGA_LOG_INFO, "payment.captured", ids, "captured %lld %s from %s", p.amount,
                     p.currency, p.customer_id);
    else
        saga_log_ids(SAGA_LOG_INFO, "payment.declined", ids, "declined %lld %s for %s: %s",
                     p.amount, p.currency, p.customer_id, payment_decline_str(p.decline));
    return SAGA_OK;
}

/* Applies the decision for r on an order whose known customer is known_customer:
 * charge, or log why not. OTHER_CUSTOMER and PARK are the caller's. */
static int reservation_apply(saga_db *db, const payment_service *ctx, const reservation *r,
                             payment_reserved_action action, const payment_wallet *wallet,
                             const char *traceparent, const saga_log_ids *ids)
{
    switch (action) {
    case PAYMENT_RESERVED_CHARGE:
        return reservation_charge(db, ctx, r, wallet, traceparent, ids);
    case PAYMENT_RESERVED_SKIP_CANCELLED:
        saga_log_ids(SAGA_LOG_INFO, "payment.skipped_cancelled", ids,
                     "order was cancelled before its reservation arrived: not charged");
        return SAGA_OK;
    case PAYMENT_RESERVED_SKIP_DECIDED:
        saga_log_ids(SAGA_LOG_INFO, "payment.already_decided", ids,
                     "order already has a payment: not charged again");
        return SAGA_OK;
    default:
        return SAGA_ERR_INTERNAL;
    }
}

int payment_on_inventory_reserved(saga_db *db, const saga_event *ev, saga_msg_meta *meta, void *ud)
{
    const payment_service *ctx = ud;
    payment_wallet wallet;
    payment_order_view view = {0};
    char known[PAYMENT_CUSTOMER_ID_BYTES];
    event_fields f;
    bool have_wallet, parked = false;
    int rc;

    if ((rc = fields_read(ev, FIELDS_RESERVED, &f, meta)))
        return rc;
    saga_log_ids ids = {
        .order_id = f.order_id, .event_id = ev->id, .correlation_id = ev->correlationid};
    reservation r = {.order_id = f.order_id,
                     .customer_id = f.customer_id,
                     .currency = f.currency,
                     .event_id = ev->id,
                     .amount = f.amount};

    if ((rc = wallet_lock(db, f.customer_id, &wallet, &have_wallet)))
        return rc;

    rc = payment_store_known_get(db, f.order_id, true, known);
    if (rc == SAGA_ERR_NOT_FOUND) {
        /* OrderCreated not seen yet (another topic): park; it is decided on then */
        payment_parked pr;
        if (strlen(ev->id) > PAYMENT_EVENT_ID_MAX)
            return saga_event_reject(meta, "event id longer than %d characters",
                                     PAYMENT_EVENT_ID_MAX);
        memset(&pr, 0, sizeof(pr));
        snprintf(pr.order_id, sizeof(pr.order_id), "%s", f.order_id);
        snprintf(pr.customer_id, sizeof(pr.customer_id), "%s", f.customer_id);
        snprintf(pr.currency, sizeof(pr.currency), "%s", f.currency);
        snprintf(pr.event_id, sizeof(pr.event_id), "%s", ev->id);
        pr.amount = f.amount;
        if ((rc = payment_store_parked_add(db, &pr, &parked)))
            return rc;
        /* an OrderCreated committed meanwhile did not see the row: look again */
        rc = payment_store_known_get(db, f.order_id, true, known);
        if (rc == SAGA_ERR_NOT_FOUND) {
            if (parked)
                saga_log_ids(SAGA_LOG_INFO, "payment.parked", &ids,
                             "reservation of %lld %s for an order not seen created yet: parked",
                             f.amount, f.currency);
            else
                saga_log_ids(SAGA_LOG_WARN, "payment.parked_again", &ids,
                             "order has a parked reservation already: this one is ignored");
            return SAGA_OK;
        }
        if (rc)
            return rc;
        if (parked && (rc = payment_store_parked_delete(db, f.order_id)))
            return rc;
    } else if (rc) {
        return rc;
    }
    view.known_customer = known;
    if ((rc = order_view_read(db, f.order_id, &view)))
        return rc;
    payment_reserved_action action = payment_reserved_decide(&view, f.customer_id);
    if (action == PAYMENT_RESERVED_OTHER_CUSTOMER)
        return saga_event_reject(meta, "customerId %s is not the customer of order %s",
                                 f.customer_id, f.order_id);
    return reservation_apply(db, ctx, &r, action, have_wallet ? &wallet : NULL, meta->traceparent,
                             &ids);
}

int payment_on_order_created(saga_db *db, const saga_event *ev, saga_msg_meta *meta, void *ud)
{
    const payment_service *ctx = ud;
    payment_wallet wallet;
    payment_order_view view = {0};
    payment_parked pr;
    char known[PAYMENT_CUSTOMER_ID_BYTES];
    event_fields f;
    bool have_wallet, added = false;
    int rc;

    if ((rc = fields_read(ev, FIELDS_CREATED, &f, meta)))
        return rc;
    saga_log_ids ids = {
        .order_id = f.order_id, .event_id = ev->id, .correlation_id = ev->correlationid};

    /* the lock InventoryReserved takes: see the top of this file */
    if ((rc = wallet_lock(db, f.customer_id, &wallet, &have_wallet)))
        return rc;
    if ((rc = payment_store_known_add(db, f.order_id, f.customer_id, &added)))
        return rc;
    if (!added) {
        if ((rc = payment_store_known_get(db, f.order_id, true, known)))
            return rc;
        if (payment_order_check(known, f.customer_id) != SAGA_OK)
            return saga_event_reject(meta, "order %s was created for another customer", f.order_id);
        saga_log_ids(SAGA_LOG_INFO, "payment.created_again", &ids, "order was seen created before");
    }

    rc = payment_store_parked_get(db, f.order_id, true, &pr);
    if (rc == SAGA_ERR_NOT_FOUND)
        return SAGA_OK;
    if (rc)
        return rc;
    if ((rc = payment_store_parked_delete(db, f.order_id)))
        return rc;
    ids.event_id = pr.event_id;
    view.known_customer = f.customer_id;
    if ((rc = order_view_read(db, f.order_id, &view)))
        return rc;
    payment_reserved_action action = payment_reserved_decide(&view, pr.customer_id);
    if (action == PAYMENT_RESERVED_OTHER_CUSTOMER) {
        saga_log_ids(SAGA_LOG_WARN, "payment.parked_dropped", &ids,
                     "parked reservation is for customer %s, the order was created for %s: "
                     "dropped, not charged",
                     pr.customer_id, f.customer_id);
        return SAGA_OK;
    }
    reservation r = {.order_id = pr.order_id,
                     .customer_id = pr.customer_id,
                     .currency = pr.currency,
                     .event_id = pr.event_id,
                     .amount = pr.amount};
    saga_log_ids(SAGA_LOG_INFO, "payment.unparked", &ids,
                 "order seen created: its parked reservation is decided now (%s)",
                 payment_reserved_action_str(action));
    return reservation_apply(db, ctx, &r, action, have_wallet ? &wallet : NULL, meta->traceparent,
                             &ids);
}

int payment_on_order_cancelled(saga_db *db, const saga_event *ev, saga_msg_meta *meta, void *ud)
{
    payment_wallet wallet;
    payment_record p;
    char known[PAYMENT_CUSTOMER_ID_BYTES];
    event_fields f;
    bool added = false, have_wallet;
    int rc;
    (void)ud;

    if ((rc = fields_read(ev, FIELDS_CANCELLED, &f, meta)))
        return rc;
    saga_log_ids ids = {
        .order_id = f.order_id, .event_id = ev->id, .correlation_id = ev->correlationid};

    /* the lock InventoryReserved takes: see the top of this file */
    if ((rc = wallet_lock(db, f.customer_id, &wallet, &have_wallet)))
        return rc;
    rc = payment_store_known_get(db, f.order_id, true, known);
    if (rc && rc != SAGA_ERR_NOT_FOUND)
        return rc;
    rc = payment_order_check(rc == SAGA_OK ? known : NULL, f.customer_id);
    if (rc == SAGA_ERR_NOT_FOUND)
        return saga_event_reject(meta, "unknown order %s", f.order_id);
    if (rc)
        return saga_event_reject(meta, "customerId %s is not the customer of order %s",
                                 f.customer_id, f.order_id);
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
        if (rc == SAGA_ERR_NOT_FOUND)
            return saga_event_reject(meta, "the wallet of captured payment %s is gone", p.id);
        if (rc)
            return rc;
    }
    if ((rc = payment_store_wallet_move(db, p.customer_id, p.amount)) ||
        (rc = payment_store_payment_set_status(db, &p, PAYMENT_REFUNDED)))
        return rc;
    p.status = PAYMENT_REFUNDED;
    if ((rc = emit(db, "PaymentRefunded", &p, ev->id, meta->traceparent)))
        return rc;
    saga_log_ids(SAGA_LOG_INFO, "payment.refunded", &ids, "refunded %lld %s to %s (%s)", p.amount,
                 p.currency, p.customer_id, f.reason);
    return SAGA_OK;
}

void payment_parked_gauge_refresh(void *ud)
{
    saga_db *db = saga_service_thread_db(ud);
    const payment_service *ps = saga_service_userdata(ud);
    long long n = 0;

    if (!db || payment_store_parked_count(db, &n) != SAGA_OK) {
        LOG_DEBUG("payment.gauge_skipped", "parked reservations not counted: %s",
                  db ? saga_db_error(db) : "no database connection");
        return;
    }
    saga_metric_set(ps->parked, (double)n);
}

/* Each handler locks the customer's wallet first, then reads the order's rows: the
 * consumer takes the batch's wallet locks first, then reads the orders' rows. */
const saga_handler payment_handlers[] = {
    {"OrderCreated", payment_on_order_created, {{&payment_wallet_lock_query, "customerId", NULL}}},
    {"InventoryReserved",
     payment_on_inventory_reserved,
     {{&payment_wallet_lock_query, "customerId", NULL},
      {&payment_known_lock_query, "orderId", NULL},
      {&payment_cancelled_lock_query, "orderId", NULL},
      {&payment_lock_query, "orderId", NULL}}},
    {"OrderCancelled",
     payment_on_order_cancelled,
     {{&payment_wallet_lock_query, "customerId", NULL},
      {&payment_known_lock_query, "orderId", NULL},
      {&payment_lock_query, "orderId", NULL}}},
};
const size_t payment_nhandlers = sizeof(payment_handlers) / sizeof(payment_handlers[0]);
