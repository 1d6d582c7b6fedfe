/* payment.c - payment-service's domain rules (see payment.h). */
#include "payment.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "saga/err.h"
#include "saga/json.h"
#include "saga/text.h"

static const char *const status_names[] = {"CAPTURED", "REFUNDED", "DECLINED"};

static const char *const decline_names[] = {
    NULL,
    "WALLET_NOT_FOUND",
    "CUSTOMER_BLOCKED",
    "LIMIT_EXCEEDED",
    "INSUFFICIENT_FUNDS",
    "GATEWAY_ERROR",
};

#define NELEMS(a) (sizeof(a) / sizeof((a)[0]))

const char *payment_status_str(payment_status s)
{
    if ((size_t)s < NELEMS(status_names))
        return status_names[s];
    return "UNKNOWN";
}

int payment_status_parse(const char *s, payment_status *out)
{
    for (size_t i = 0; s && i < NELEMS(status_names); i++) {
        if (strcmp(s, status_names[i]) == 0) {
            *out = (payment_status)i;
            return 0;
        }
    }
    return -1;
}

const char *payment_decline_str(payment_decline d)
{
    if ((size_t)d < NELEMS(decline_names))
        return decline_names[d];
    return NULL;
}

int payment_decline_parse(const char *s, payment_decline *out)
{
    for (size_t i = 1; s && i < NELEMS(decline_names); i++) {
        if (strcmp(s, decline_names[i]) == 0) {
            *out = (payment_decline)i;
            return 0;
        }
    }
    return -1;
}

payment_decline payment_decide(const payment_wallet *wallet, long long amount,
                               const payment_rules *rules, double draw)
{
    if (!wallet)
        return PAYMENT_DECLINE_WALLET_NOT_FOUND;
    if (wallet->blocked)
        return PAYMENT_DECLINE_CUSTOMER_BLOCKED;
    if (amount > rules->limit)
        return PAYMENT_DECLINE_LIMIT_EXCEEDED;
    if (wallet->balance < amount)
        return PAYMENT_DECLINE_INSUFFICIENT_FUNDS;
    if (rules->failure_rate > 0.0 && draw < rules->failure_rate)
        return PAYMENT_DECLINE_GATEWAY_ERROR;
    return PAYMENT_DECLINE_NONE;
}

bool payment_refund_due(payment_status s)
{
    return s == PAYMENT_CAPTURED;
}

int payment_order_check(const char *known_customer, const char *customer)
{
    if (!known_customer)
        return SAGA_ERR_NOT_FOUND;
    if (!customer || strcmp(known_customer, customer) != 0)
        return SAGA_ERR_CONFLICT;
    return SAGA_OK;
}

payment_reserved_action payment_reserved_decide(const payment_order_view *v, const char *customer)
{
    int rc = payment_order_check(v->known_customer, customer);
    if (rc == SAGA_ERR_NOT_FOUND)
        return PAYMENT_RESERVED_PARK;
    if (rc != SAGA_OK)
        return PAYMENT_RESERVED_OTHER_CUSTOMER;
    if (v->cancelled)
        return PAYMENT_RESERVED_SKIP_CANCELLED;
    if (v->has_payment)
        return PAYMENT_RESERVED_SKIP_DECIDED;
    return PAYMENT_RESERVED_CHARGE;
}

const char *payment_reserved_action_str(payment_reserved_action a)
{
    static const char *const names[] = {"CHARGE", "PARK", "SKIP_CANCELLED", "SKIP_DECIDED",
                                        "OTHER_CUSTOMER"};
    if ((size_t)a < NELEMS(names))
        return names[a];
    return "UNKNOWN";
}

int payment_put_decide(const payment_wallet *existing, const payment_put *put,
                       payment_put_action *action)
{
    if (!existing) {
        *action = PAYMENT_PUT_CREATE;
        return SAGA_OK;
    }
    if (put->has_balance && put->balance != existing->balance)
        return SAGA_ERR_CONFLICT;
    if (put->has_blocked && put->blocked != existing->blocked)
        *action = PAYMENT_PUT_UPDATE;
    else
        *action = PAYMENT_PUT_UNCHANGED;
    return SAGA_OK;
}

int payment_topup_check(const payment_wallet *wallet, long long amount)
{
    if (amount < 1 || amount > PAYMENT_TOPUP_MAX)
        return SAGA_ERR_INVALID;
    /* balance <= initial_balance + topped_up (captured money is out); a refund brings
     * it back up to that sum, so the sum is what must stay representable */
    if (wallet->balance > PAYMENT_MONEY_MAX - amount ||
        wallet->initial_balance + wallet->topped_up > PAYMENT_MONEY_MAX - amount)
        return SAGA_ERR_CONFLICT;
    return SAGA_OK;
}

/* The one rule of every service (saga/text.h). */
bool payment_customer_id_valid(const char *s)
{
    return saga_text_is_customer_id(s);
}

bool payment_uuid_valid(const char *s)
{
    return saga_text_is_uuid(s);
}

bool payment_amount_from_double(double d, long long *out)
{
    if (!isfinite(d) || d != floor(d) || d < 0.0 || d > (double)PAYMENT_MONEY_MAX)
        return false;
    *out = (long long)d;
    return true;
}

int payment_rate_parse(const char *s, double *out)
{
    char *end = NULL;
    double v;

    if (!s || !*s) {
        *out = 0.0;
        return 0;
    }
    if ((!isdigit((unsigned char)s[0]) && s[0] != '.') || strpbrk(s, "xX"))
        return -1; /* no sign, no leading space, no "nan"/"inf", no hexadecimal */
    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || *end != '\0' || !isfinite(v) || v < 0.0 || v > 1.0)
        return -1;
    *out = v;
    return 0;
}

double payment_draw(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return (double)(z >> 11) * 0x1.0p-53; /* 53 random bits: [0, 1) */
}

/* --- the API's and the events' JSON --- */

cJSON *payment_wallet_to_json(const payment_wallet *w)
{
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddStringToObject(o, "customerId", w->customer_id) ||
        !saga_json_add_int(o, "balance", w->balance) ||
        !cJSON_AddBoolToObject(o, "blocked", w->blocked)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

cJSON *payment_record_to_json(const payment_record *p)
{
    const char *reason = payment_decline_str(p->decline);
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddStringToObject(o, "id", p->id) ||
        !cJSON_AddStringToObject(o, "orderId", p->order_id) ||
        !cJSON_AddStringToObject(o, "customerId", p->customer_id) ||
        !saga_json_add_int(o, "amount", p->amount) ||
        !cJSON_AddStringToObject(o, "currency", p->currency) ||
        !cJSON_AddStringToObject(o, "status", payment_status_str(p->status)) ||
        !(reason ? cJSON_AddStringToObject(o, "declineReason", reason)
                 : cJSON_AddNullToObject(o, "declineReason")) ||
        !cJSON_AddStringToObject(o, "createdAt", p->created_at) ||
        !cJSON_AddStringToObject(o, "updatedAt", p->updated_at)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

cJSON *payment_event_data(const payment_record *p)
{
    cJSON *data = cJSON_CreateObject();
    bool ok = data && cJSON_AddStringToObject(data, "orderId", p->order_id) &&
              cJSON_AddStringToObject(data, "customerId", p->customer_id) &&
              saga_json_add_int(data, "amount", p->amount) &&
              cJSON_AddStringToObject(data, "currency", p->currency);
    if (ok && p->status == PAYMENT_DECLINED)
        ok = cJSON_AddStringToObject(data, "reason", payment_decline_str(p->decline)) != NULL;
    else if (ok)
        ok = cJSON_AddStringToObject(data, "paymentId", p->id) != NULL;
    if (!ok) {
        cJSON_Delete(data);
        return NULL;
    }
    return data;
}
