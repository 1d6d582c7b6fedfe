/* inventory.c - inventory-service's pure domain rules (see inventory.h). */
#include "inventory.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "saga/err.h"
#include "saga/text.h"

static bool is_alnum_ascii(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool inventory_sku_valid(const char *sku)
{
    size_t i;

    if (!sku || !is_alnum_ascii(sku[0]))
        return false;
    for (i = 1; sku[i]; i++) {
        char c = sku[i];
        if (i >= INVENTORY_SKU_MAX)
            return false;
        if (!is_alnum_ascii(c) && c != '.' && c != '_' && c != '-')
            return false;
    }
    return true;
}

/* Length of the UTF-8 sequence starting at s and its code point, or 0 if invalid
 * (overlong forms, surrogates and values past U+10FFFF are invalid). */
static size_t utf8_next(const unsigned char *s, unsigned long *cp)
{
    size_t len, i;
    unsigned long v;

    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if ((s[0] & 0xE0) == 0xC0) {
        len = 2;
        v = s[0] & 0x1F;
    } else if ((s[0] & 0xF0) == 0xE0) {
        len = 3;
        v = s[0] & 0x0F;
    } else if ((s[0] & 0xF8) == 0xF0) {
        len = 4;
        v = s[0] & 0x07;
    } else {
        return 0;
    }
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    if ((len == 2 && v < 0x80) || (len == 3 && v < 0x800) || (len == 4 && v < 0x10000) ||
        v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    return len;
}

bool inventory_name_valid(const char *name)
{
    const unsigned char *s = (const unsigned char *)name;
    size_t chars = 0;

    if (!name || !name[0])
        return false;
    while (*s) {
        unsigned long cp;
        size_t len = utf8_next(s, &cp);
        if (len == 0 || cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0))
            return false;
        if (++chars > INVENTORY_NAME_MAX)
            return false;
        s += len;
    }
    return true;
}

bool inventory_order_id_valid(const char *id)
{
    return saga_text_is_uuid(id);
}

bool inventory_currency_valid(const char *currency)
{
    if (!currency || strlen(currency) != 3)
        return false;
    for (size_t i = 0; i < 3; i++) {
        if (currency[i] < 'A' || currency[i] > 'Z')
            return false;
    }
    return true;
}

int inventory_page_limit_parse(const char *s, int *out)
{
    long v = 0;
    size_t i;

    if (!s) {
        *out = INVENTORY_PAGE_DEFAULT;
        return SAGA_OK;
    }
    if (!s[0] || strlen(s) > 3)
        return SAGA_ERR_INVALID;
    for (i = 0; s[i]; i++) {
        if (s[i] < '0' || s[i] > '9')
            return SAGA_ERR_INVALID;
        v = v * 10 + (s[i] - '0');
    }
    if (v < 1 || v > INVENTORY_PAGE_MAX)
        return SAGA_ERR_INVALID;
    *out = (int)v;
    return SAGA_OK;
}

int inventory_soldout_key(const char *sku, char *out, size_t outlen)
{
    if (!inventory_sku_valid(sku))
        return SAGA_ERR_INVALID;
    int n = snprintf(out, outlen, "%s%s", INVENTORY_SOLDOUT_PREFIX, sku);
    if (n < 0 || (size_t)n >= outlen)
        return SAGA_ERR_INVALID;
    return SAGA_OK;
}

static int line_cmp(const void *a, const void *b)
{
    const inventory_line *la = a, *lb = b;
    return strcmp(la->sku, lb->sku);
}

int inventory_lines_prepare(inventory_line *lines, size_t n, char *err, size_t errlen)
{
    size_t i;

    if (!lines || n < 1 || n > INVENTORY_LINES_MAX) {
        snprintf(err, errlen, "an order has 1 to %d lines, not %zu", INVENTORY_LINES_MAX, n);
        return SAGA_ERR_INVALID;
    }
    for (i = 0; i < n; i++) {
        if (!inventory_sku_valid(lines[i].sku)) {
            snprintf(err, errlen, "items[%zu]: sku is not valid", i);
            return SAGA_ERR_INVALID;
        }
        if (lines[i].quantity < 1 || lines[i].quantity > INVENTORY_QUANTITY_MAX) {
            snprintf(err, errlen, "items[%zu]: quantity %lld is outside 1..%d", i,
                     lines[i].quantity, INVENTORY_QUANTITY_MAX);
            return SAGA_ERR_INVALID;
        }
    }
    qsort(lines, n, sizeof(*lines), line_cmp);
    for (i = 1; i < n; i++) {
        if (strcmp(lines[i - 1].sku, lines[i].sku) == 0) {
            snprintf(err, errlen, "sku %s appears in more than one line", lines[i].sku);
            return SAGA_ERR_INVALID;
        }
    }
    return SAGA_OK;
}

bool inventory_line_short(const inventory_line *line)
{
    return !line->found || line->available < line->quantity;
}

int inventory_decide(const inventory_line *lines, size_t n, inventory_decision *out,
                     long long *amount)
{
    long long total = 0;
    size_t i;

    if (!lines || n == 0 || !out || !amount)
        return SAGA_ERR_INVALID;
    *amount = 0;
    for (i = 0; i < n; i++) {
        if (inventory_line_short(&lines[i])) {
            *out = INVENTORY_SHORTAGE;
            return SAGA_OK;
        }
    }
    for (i = 0; i < n; i++) {
        long long q = lines[i].quantity, p = lines[i].price;
        /* a stored price may predate INVENTORY_PRICE_MAX: bounded by the amount only */
        if (q < 0 || p < 0 || p > INVENTORY_AMOUNT_MAX)
            return SAGA_ERR_INVALID;
        /* q <= 1000 and p <= 2^53: q * p fits a long long; check the sum's bound */
        if (q > INVENTORY_QUANTITY_MAX || (p != 0 && q > INVENTORY_AMOUNT_MAX / p))
            return SAGA_ERR_TOO_LARGE;
        if (q * p > INVENTORY_AMOUNT_MAX - total)
            return SAGA_ERR_TOO_LARGE;
        total += q * p;
    }
    *out = INVENTORY_RESERVE;
    *amount = total;
    return SAGA_OK;
}

const char *inventory_reservation_next(const char *status, inventory_action action,
                                       long long quantity, inventory_delta *delta)
{
    memset(delta, 0, sizeof(*delta));
    if (!status)
        return NULL;
    if (action == INVENTORY_CONFIRM && strcmp(status, "HELD") == 0) {
        delta->reserved = -quantity;
        delta->sold = quantity;
        return "COMMITTED";
    }
    if (action == INVENTORY_CANCEL && strcmp(status, "HELD") == 0) {
        delta->reserved = -quantity;
        delta->available = quantity;
        return "RELEASED";
    }
    if (action == INVENTORY_CANCEL && strcmp(status, "COMMITTED") == 0) {
        delta->sold = -quantity;
        delta->available = quantity;
        return "RESTOCKED";
    }
    return NULL;
}

bool inventory_delta_fits(long long available, long long reserved, long long sold,
                          const inventory_delta *d)
{
    long long a = available + d->available, r = reserved + d->reserved, s = sold + d->sold;
    return a >= 0 && r >= 0 && s >= 0 && a <= INVENTORY_COUNTER_MAX && r <= INVENTORY_COUNTER_MAX &&
           s <= INVENTORY_COUNTER_MAX;
}

int inventory_order_check(const char *known_customer, const char *customer)
{
    if (!known_customer)
        return SAGA_ERR_NOT_FOUND;
    if (!customer || strcmp(known_customer, customer) != 0)
        return SAGA_ERR_CONFLICT;
    return SAGA_OK;
}

int inventory_stock_set(long long available, long long reserved, long long sold, long long stock,
                        long long *restocked_delta)
{
    if (stock < 0 || stock > INVENTORY_STOCK_MAX)
        return SAGA_ERR_INVALID;
    if (stock + reserved + sold > INVENTORY_COUNTER_MAX)
        return SAGA_ERR_CONFLICT;
    *restocked_delta = stock - available;
    return SAGA_OK;
}

int inventory_restock_check(long long available, long long reserved, long long sold,
                            long long quantity)
{
    if (quantity < 1 || quantity > INVENTORY_RESTOCK_MAX)
        return SAGA_ERR_INVALID;
    if (available + quantity > INVENTORY_STOCK_MAX ||
        available + quantity + reserved + sold > INVENTORY_COUNTER_MAX)
        return SAGA_ERR_CONFLICT;
    return SAGA_OK;
}

inventory_hint inventory_hint_for(long long available)
{
    return available <= 0 ? INVENTORY_HINT_SET : INVENTORY_HINT_DEL;
}
