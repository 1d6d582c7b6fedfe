/* order_request.h - what a request to order-service's API must be: no I/O.
 *
 * - the POST /api/orders body (order_request_parse): a contract the field helpers of
 *   saga/fields.h cannot express (an array of line objects, skus unique), checked
 *   here and answered by routes.c with saga_http_reply_field naming the field;
 * - the request hash behind Idempotency-Key (64-bit FNV-1a over a canonical form)
 *   and the key's spelling;
 * - query parameters, and the W3C traceparent a request carries or is given.
 *
 * Part of the domain library; unit-tested in tests/unit/check_order.c. */
#ifndef ORDER_REQUEST_H
#define ORDER_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#include "order.h"

/* --- the POST /api/orders body --- */

/* Which field is wrong and why, for a 400 problem naming it. field is "" when the
 * body as a whole is wrong. */
typedef struct order_error {
    char field[48];
    char detail[256];
} order_error;

typedef struct order_request {
    const char *customer_id; /* borrowed from the parsed body */
    char currency[4];
    size_t nlines;
    struct {
        const char *sku; /* borrowed */
        int quantity;
    } lines[ORDER_LINES_MAX];
} order_request;

/* Validates a POST /api/orders body against the contract: an object with only
 * customerId (string of 1..64 characters, valid UTF-8), items (1..50 objects with
 * only sku (^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$) and quantity (integer 1..1000), skus
 * unique) and optional currency (must equal shop_currency; absent or null means
 * shop_currency). Returns SAGA_OK and fills req (borrowing from body), or
 * SAGA_ERR_INVALID with the field ("items[2].quantity") and reason in err. */
int order_request_parse(const cJSON *body, const char *shop_currency, order_request *req,
                        order_error *err);

/* The request hash stored with an Idempotency-Key: 64-bit FNV-1a over the canonical
 * form "order-request/1\n<len>:<customerId>\n<currency>\n" followed by
 * "<sku>=<quantity>\n" for each line in sku order (byte order), so the same order
 * written with its lines in another order, or with the default currency spelt out,
 * hashes the same. Writes 16 lowercase hex digits and a NUL. */
void order_request_hash(const order_request *req, char out[ORDER_HASH_LEN + 1]);

/* The 64-bit FNV-1a of n bytes, continuing from h (start with ORDER_FNV_OFFSET). */
#define ORDER_FNV_OFFSET 0xcbf29ce484222325ULL
uint64_t order_fnv1a(uint64_t h, const void *p, size_t n);

/* True if key is a valid Idempotency-Key: 1..128 visible ASCII characters (0x21..0x7e): no
 * space anywhere, so that one key has one spelling. */
bool order_idem_key_valid(const char *key);

/* --- query parameters --- */

/* A decimal integer in [min, max] with nothing else (no sign, spaces, or empty
 * string). SAGA_OK and *out, or SAGA_ERR_INVALID. */
int order_parse_int(const char *s, long min, long max, long *out);

/* --- tracing --- */

/* True if tp is a W3C traceparent we pass on: version 00, 55 characters,
 * lowercase hex, trace id and parent id not all zeros. */
bool order_traceparent_valid(const char *tp);

/* Formats "00-<trace id>-<parent id>-01" from 24 random bytes (16 for the trace
 * id, 8 for the parent id); an all-zero half gets its last byte set to 1. */
void order_traceparent_format(const uint8_t rnd[24], char out[ORDER_TRACEPARENT_LEN + 1]);

#endif
