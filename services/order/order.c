/* order.c - order-service's pure domain rules (see order.h). */
#include "order.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "saga/envelope.h"
#include "saga/err.h"
#include "saga/json.h"
#include "saga/text.h"

static const char *const status_names[ORDER_STATUS_COUNT] = {
    "PENDING",
    "AWAITING_PAYMENT",
    "CONFIRMED",
    "CANCELLED",
};

static const char *const reason_names[ORDER_REASON_COUNT] = {
    NULL, "OUT_OF_STOCK", "PAYMENT_DECLINED", "TIMEOUT", "CUSTOMER_REQUEST",
};

static const char *const input_types[] = {
    [ORDER_IN_INVENTORY_RESERVED] = "InventoryReserved",
    [ORDER_IN_INVENTORY_SHORTAGE] = "InventoryShortage",
    [ORDER_IN_INVENTORY_RELEASED] = "InventoryReleased",
    [ORDER_IN_PAYMENT_COMPLETED] = "PaymentCompleted",
    [ORDER_IN_PAYMENT_FAILED] = "PaymentFailed",
    [ORDER_IN_PAYMENT_REFUNDED] = "PaymentRefunded",
};

const char *order_status_str(order_status s)
{
    return (unsigned)s < ORDER_STATUS_COUNT ? status_names[s] : "?";
}

int order_status_parse(const char *s, order_status *out)
{
    for (int i = 0; s && i < ORDER_STATUS_COUNT; i++) {
        if (strcmp(s, status_names[i]) == 0) {
            *out = (order_status)i;
            return SAGA_OK;
        }
    }
    return SAGA_ERR_INVALID;
}

const char *order_reason_str(order_reason r)
{
    return (unsigned)r < ORDER_REASON_COUNT ? reason_names[r] : NULL;
}

int order_reason_parse(const char *s, order_reason *out)
{
    for (int i = 1; s && i < ORDER_REASON_COUNT; i++) {
        if (strcmp(s, reason_names[i]) == 0) {
            *out = (order_reason)i;
            return SAGA_OK;
        }
    }
    return SAGA_ERR_INVALID;
}

bool order_status_settled(order_status s)
{
    return s == ORDER_CONFIRMED || s == ORDER_CANCELLED;
}

int order_input_from_type(const char *event_type, order_input *out)
{
    for (size_t i = 0; event_type && i < sizeof(input_types) / sizeof(input_types[0]); i++) {
        if (input_types[i] && strcmp(event_type, input_types[i]) == 0) {
            *out = (order_input)i;
            return SAGA_OK;
        }
    }
    return SAGA_ERR_NOT_FOUND;
}

/* --- the state machine --- */

static void step_cancel(order_step *st, order_reason reason)
{
    st->next = ORDER_CANCELLED;
    st->emit = ORDER_EMIT_CANCELLED;
    st->reason = reason;
}

int order_step_decide(order_status cur, order_input in, order_step *out)
{
    order_step st = {.next = cur};
    bool open = cur == ORDER_PENDING || cur == ORDER_AWAITING_PAYMENT;

    if ((unsigned)cur >= ORDER_STATUS_COUNT || (unsigned)in >= ORDER_INPUT_COUNT)
        return SAGA_ERR_INVALID;
    switch (in) {
    case ORDER_IN_INVENTORY_RESERVED:
        if (cur == ORDER_PENDING) {
            st.next = ORDER_AWAITING_PAYMENT;
            st.record_amount = true;
            st.record_prices = true;
        } else if (cur == ORDER_CONFIRMED) {
            st.record_prices = true; /* the payment came first and set the amount */
        }
        break;
    case ORDER_IN_PAYMENT_COMPLETED:
        if (open) {
            st.next = ORDER_CONFIRMED;
            st.record_payment = true;
            st.emit = ORDER_EMIT_CONFIRMED;
        }
        break;
    case ORDER_IN_INVENTORY_SHORTAGE:
        if (open)
            step_cancel(&st, ORDER_REASON_OUT_OF_STOCK);
        break;
    case ORDER_IN_PAYMENT_FAILED:
        if (open)
            step_cancel(&st, ORDER_REASON_PAYMENT_DECLINED);
        break;
    case ORDER_IN_TIMEOUT:
        if (open)
            step_cancel(&st, ORDER_REASON_TIMEOUT);
        break;
    case ORDER_IN_CUSTOMER_CANCEL:
        if (cur == ORDER_CANCELLED)
            return SAGA_ERR_CONFLICT;
        step_cancel(&st, ORDER_REASON_CUSTOMER_REQUEST);
        break;
    case ORDER_IN_INVENTORY_RELEASED:
    case ORDER_IN_PAYMENT_REFUNDED:
    default:
        break;
    }
    st.changed = st.next != cur;
    *out = st;
    return SAGA_OK;
}

/* --- the order JSON --- */

static cJSON *add_string_or_null(cJSON *o, const char *name, const char *s)
{
    return s ? cJSON_AddStringToObject(o, name, s) : cJSON_AddNullToObject(o, name);
}

cJSON *order_to_json(const order *o)
{
    cJSON *j = cJSON_CreateObject();
    cJSON *items = NULL;
    bool ok = j != NULL;

    ok = ok && cJSON_AddStringToObject(j, "id", o->id);
    ok = ok && cJSON_AddStringToObject(j, "customerId", o->customer_id);
    ok = ok && cJSON_AddStringToObject(j, "status", order_status_str(o->status));
    ok =
        ok && add_string_or_null(j, "cancelReason",
                                 o->status == ORDER_CANCELLED ? order_reason_str(o->reason) : NULL);
    ok = ok && cJSON_AddStringToObject(j, "currency", o->currency);
    ok = ok && (o->has_amount ? saga_json_add_int(j, "amount", o->amount)
                              : cJSON_AddNullToObject(j, "amount") != NULL);
    ok = ok && (items = cJSON_AddArrayToObject(j, "items"));
    for (size_t i = 0; ok && i < o->nlines; i++) {
        const order_line *l = &o->lines[i];
        cJSON *item = cJSON_CreateObject();
        ok = item && cJSON_AddItemToArray(items, item);
        if (!ok) {
            cJSON_Delete(item);
            break;
        }
        ok = cJSON_AddStringToObject(item, "sku", l->sku) &&
             cJSON_AddNumberToObject(item, "quantity", l->quantity) &&
             (l->has_price ? saga_json_add_int(item, "unitPrice", l->unit_price)
                           : cJSON_AddNullToObject(item, "unitPrice") != NULL);
    }
    ok = ok && cJSON_AddStringToObject(j, "deadline", o->deadline);
    ok = ok && cJSON_AddStringToObject(j, "createdAt", o->created_at);
    ok = ok && cJSON_AddStringToObject(j, "updatedAt", o->updated_at);
    if (!ok) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

/* --- skus --- */

static bool sku_char(char c, bool first)
{
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
        return true;
    return !first && (c == '.' || c == '_' || c == '-');
}

bool order_sku_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > ORDER_SKU_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!sku_char(s[i], i == 0))
            return false;
    return true;
}

/* --- event data --- */

cJSON *order_created_data(const order *o)
{
    cJSON *d = cJSON_CreateObject();
    cJSON *items = NULL;
    bool ok = d != NULL;

    ok = ok && cJSON_AddStringToObject(d, "orderId", o->id);
    ok = ok && cJSON_AddStringToObject(d, "customerId", o->customer_id);
    ok = ok && (items = cJSON_AddArrayToObject(d, "items"));
    for (size_t i = 0; ok && i < o->nlines; i++) {
        cJSON *item = cJSON_CreateObject();
        ok = item && cJSON_AddItemToArray(items, item);
        if (!ok) {
            cJSON_Delete(item);
            break;
        }
        ok = cJSON_AddStringToObject(item, "sku", o->lines[i].sku) &&
             cJSON_AddNumberToObject(item, "quantity", o->lines[i].quantity);
    }
    ok = ok && cJSON_AddStringToObject(d, "currency", o->currency);
    ok = ok && cJSON_AddStringToObject(d, "deadline", o->deadline);
    if (!ok) {
        cJSON_Delete(d);
        return NULL;
    }
    return d;
}

cJSON *order_confirmed_data(const order *o)
{
    cJSON *d = cJSON_CreateObject();
    bool ok = d && cJSON_AddStringToObject(d, "orderId", o->id) &&
              cJSON_AddStringToObject(d, "customerId", o->customer_id) &&
              saga_json_add_int(d, "amount", o->has_amount ? o->amount : 0) &&
              cJSON_AddStringToObject(d, "currency", o->currency);
    if (!ok) {
        cJSON_Delete(d);
        return NULL;
    }
    return d;
}

cJSON *order_cancelled_data(const order *o, order_reason reason, order_status previous)
{
    const char *r = order_reason_str(reason);
    cJSON *d = cJSON_CreateObject();
    bool ok = d && r && previous != ORDER_CANCELLED &&
              cJSON_AddStringToObject(d, "orderId", o->id) &&
              cJSON_AddStringToObject(d, "customerId", o->customer_id) &&
              cJSON_AddStringToObject(d, "reason", r) &&
              cJSON_AddStringToObject(d, "previousStatus", order_status_str(previous));
    if (!ok) {
        cJSON_Delete(d);
        return NULL;
    }
    return d;
}
