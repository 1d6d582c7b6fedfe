/* order_request.c - what a request to order-service's API must be (see
 * order_request.h). */
#include "order_request.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "saga/err.h"
#include "saga/text.h"

bool order_idem_key_valid(const char *key)
{
    size_t n = key ? strlen(key) : 0;
    if (n < 1 || n > ORDER_IDEM_KEY_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)key[i] <= 0x20 || (unsigned char)key[i] > 0x7e)
            return false;
    return true;
}

static int fail(order_error *err, const char *field, const char *fmt, const char *arg)
{
    snprintf(err->field, sizeof(err->field), "%s", field ? field : "");
    snprintf(err->detail, sizeof(err->detail), fmt, arg ? arg : "");
    return SAGA_ERR_INVALID;
}

static bool member_allowed(const char *name, const char *const *allowed)
{
    for (size_t i = 0; allowed[i]; i++)
        if (strcmp(name, allowed[i]) == 0)
            return true;
    return false;
}

static int parse_line(const cJSON *item, size_t idx, order_request *req, order_error *err)
{
    static const char *const allowed[] = {"sku", "quantity", NULL};
    char field[48], detail[200];
    const cJSON *m;

    if (!cJSON_IsObject(item)) {
        snprintf(field, sizeof(field), "items[%zu]", idx);
        return fail(err, field, "%s must be an object with sku and quantity", field);
    }
    cJSON_ArrayForEach(m, item)
    {
        if (!member_allowed(m->string, allowed)) {
            snprintf(field, sizeof(field), "items[%zu].%.20s", idx, m->string);
            return fail(err, field, "unknown field %s", field);
        }
    }
    const cJSON *sku = cJSON_GetObjectItemCaseSensitive(item, "sku");
    snprintf(field, sizeof(field), "items[%zu].sku", idx);
    if (!sku || cJSON_IsNull(sku))
        return fail(err, field, "%s is required", field);
    if (!cJSON_IsString(sku))
        return fail(err, field, "%s must be a string", field);
    if (!order_sku_valid(sku->valuestring)) {
        snprintf(detail, sizeof(detail), "%s must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", field);
        return fail(err, field, "%s", detail);
    }
    for (size_t j = 0; j < idx; j++) {
        if (strcmp(req->lines[j].sku, sku->valuestring) == 0) {
            snprintf(detail, sizeof(detail), "%s: duplicate sku %s (also items[%zu].sku)", field,
                     sku->valuestring, j);
            return fail(err, field, "%s", detail);
        }
    }
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(item, "quantity");
    snprintf(field, sizeof(field), "items[%zu].quantity", idx);
    if (!q || cJSON_IsNull(q))
        return fail(err, field, "%s is required", field);
    double d = cJSON_IsNumber(q) ? q->valuedouble : NAN;
    if (!cJSON_IsNumber(q) || d != floor(d) || d < 1 || d > ORDER_QUANTITY_MAX) {
        snprintf(detail, sizeof(detail), "%s must be an integer from 1 to %d", field,
                 ORDER_QUANTITY_MAX);
        return fail(err, field, "%s", detail);
    }
    req->lines[idx].sku = sku->valuestring;
    req->lines[idx].quantity = (int)d;
    return SAGA_OK;
}

int order_request_parse(const cJSON *body, const char *shop_currency, order_request *req,
                        order_error *err)
{
    static const char *const allowed[] = {"customerId", "items", "currency", NULL};
    char detail[200];
    const cJSON *m;
    int rc;

    memset(req, 0, sizeof(*req));
    if (!cJSON_IsObject(body))
        return fail(err, NULL, "the request body must be a JSON object", NULL);
    cJSON_ArrayForEach(m, body)
    {
        if (!member_allowed(m->string, allowed))
            return fail(err, m->string, "unknown field %.40s", m->string);
    }

    const cJSON *cust = cJSON_GetObjectItemCaseSensitive(body, "customerId");
    if (!cust || cJSON_IsNull(cust))
        return fail(err, "customerId", "customerId is required", NULL);
    if (!cJSON_IsString(cust))
        return fail(err, "customerId", "customerId must be a string", NULL);
    if (!saga_text_is_customer_id(cust->valuestring))
        return fail(err, "customerId", "customerId must be " SAGA_CUSTOMER_ID_RULE, NULL);
    req->customer_id = cust->valuestring;

    const cJSON *items = cJSON_GetObjectItemCaseSensitive(body, "items");
    if (!items || cJSON_IsNull(items))
        return fail(err, "items", "items is required", NULL);
    if (!cJSON_IsArray(items))
        return fail(err, "items", "items must be an array", NULL);
    int n = cJSON_GetArraySize(items);
    if (n < 1)
        return fail(err, "items", "items must not be empty", NULL);
    if (n > ORDER_LINES_MAX) {
        snprintf(detail, sizeof(detail), "items must have at most %d lines, not %d",
                 ORDER_LINES_MAX, n);
        return fail(err, "items", "%s", detail);
    }
    size_t idx = 0;
    cJSON_ArrayForEach(m, items)
    {
        if ((rc = parse_line(m, idx, req, err)))
            return rc;
        idx++;
    }
    req->nlines = idx;

    const cJSON *cur = cJSON_GetObjectItemCaseSensitive(body, "currency");
    if (cur && !cJSON_IsNull(cur)) {
        if (!cJSON_IsString(cur))
            return fail(err, "currency", "currency must be a string", NULL);
        if (strcmp(cur->valuestring, shop_currency) != 0) {
            snprintf(detail, sizeof(detail), "currency must be %s (the shop's only currency)",
                     shop_currency);
            return fail(err, "currency", "%s", detail);
        }
    }
    snprintf(req->currency, sizeof(req->currency), "%s", shop_currency);
    return SAGA_OK;
}

uint64_t order_fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static int line_cmp(const void *a, const void *b)
{
    const char *const *x = a;
    const char *const *y = b;
    return strcmp(*x, *y);
}

void order_request_hash(const order_request *req, char out[ORDER_HASH_LEN + 1])
{
    /* sort pointers to the lines' skus; each sku is followed by its index */
    const char *skus[ORDER_LINES_MAX];
    size_t n = req->nlines < ORDER_LINES_MAX ? req->nlines : ORDER_LINES_MAX;
    char buf[64];
    uint64_t h = ORDER_FNV_OFFSET;

    for (size_t i = 0; i < n; i++)
        skus[i] = req->lines[i].sku;
    qsort(skus, n, sizeof(skus[0]), line_cmp);

    static const char head[] = "order-request/1\n";
    h = order_fnv1a(h, head, sizeof(head) - 1);
    int len = snprintf(buf, sizeof(buf), "%zu:", strlen(req->customer_id));
    h = order_fnv1a(h, buf, (size_t)len);
    h = order_fnv1a(h, req->customer_id, strlen(req->customer_id));
    len = snprintf(buf, sizeof(buf), "\n%s\n", req->currency);
    h = order_fnv1a(h, buf, (size_t)len);
    for (size_t i = 0; i < n; i++) {
        int q = 0;
        for (size_t k = 0; k < n; k++)
            if (req->lines[k].sku == skus[i])
                q = req->lines[k].quantity;
        h = order_fnv1a(h, skus[i], strlen(skus[i]));
        len = snprintf(buf, sizeof(buf), "=%d\n", q);
        h = order_fnv1a(h, buf, (size_t)len);
    }
    snprintf(out, ORDER_HASH_LEN + 1, "%016llx", (unsigned long long)h);
}

/* --- query parameters --- */

int order_parse_int(const char *s, long min, long max, long *out)
{
    long v = 0;
    if (!s || !*s || strlen(s) > 18)
        return SAGA_ERR_INVALID;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return SAGA_ERR_INVALID;
        v = v * 10 + (*p - '0');
    }
    if (v < min || v > max)
        return SAGA_ERR_INVALID;
    *out = v;
    return SAGA_OK;
}

/* --- tracing --- */

static bool lower_hex(const char *s, size_t n, bool *all_zero)
{
    *all_zero = true;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
        if (c != '0')
            *all_zero = false;
    }
    return true;
}

bool order_traceparent_valid(const char *tp)
{
    bool zero;
    if (!tp || strlen(tp) != ORDER_TRACEPARENT_LEN)
        return false;
    if (tp[0] != '0' || tp[1] != '0' || tp[2] != '-' || tp[35] != '-' || tp[52] != '-')
        return false;
    if (!lower_hex(tp + 3, 32, &zero) || zero)
        return false;
    if (!lower_hex(tp + 36, 16, &zero) || zero)
        return false;
    return lower_hex(tp + 53, 2, &zero);
}

void order_traceparent_format(const uint8_t rnd[24], char out[ORDER_TRACEPARENT_LEN + 1])
{
    uint8_t b[24];
    char *o = out;
    bool zero = true;

    memcpy(b, rnd, sizeof(b));
    for (size_t i = 0; i < 16; i++)
        zero = zero && b[i] == 0;
    if (zero)
        b[15] = 1;
    zero = true;
    for (size_t i = 16; i < 24; i++)
        zero = zero && b[i] == 0;
    if (zero)
        b[23] = 1;
    o += sprintf(o, "00-");
    for (size_t i = 0; i < 16; i++)
        o += sprintf(o, "%02x", b[i]);
    *o++ = '-';
    for (size_t i = 16; i < 24; i++)
        o += sprintf(o, "%02x", b[i]);
    sprintf(o, "-01");
}
