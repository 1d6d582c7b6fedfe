/* check_order.c - order-service's pure domain rules (services/order/order.c): the
 * state machine, request validation, the idempotency request hash, traceparent,
 * times and the JSON of orders and emitted events. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "order.h"
#include "order_request.h"
#include "saga/text.h"
#include "saga/err.h"

/* --- helpers --- */

static cJSON *parse(const char *text)
{
    cJSON *j = cJSON_Parse(text);
    ck_assert_msg(j != NULL, "bad test JSON: %s", text);
    return j;
}

/* Parses a request body; returns the rc and leaves the error field in err. */
static int check_body(const char *text, order_request *req, order_error *err)
{
    cJSON *j = parse(text);
    memset(err, 0, sizeof(*err));
    int rc = order_request_parse(j, "EUR", req, err);
    cJSON_Delete(j);
    return rc;
}

static void assert_field(const char *text, const char *field)
{
    order_request req;
    order_error err;
    ck_assert_int_eq(check_body(text, &req, &err), SAGA_ERR_INVALID);
    ck_assert_msg(strcmp(err.field, field) == 0, "%s: field '%s', wanted '%s' (%s)", text,
                  err.field, field, err.detail);
    ck_assert_msg(err.detail[0] != '\0', "no detail for %s", text);
}

static void hash_of(const char *text, char out[ORDER_HASH_LEN + 1])
{
    cJSON *j = parse(text);
    order_request req;
    order_error err;
    ck_assert_int_eq(order_request_parse(j, "EUR", &req, &err), SAGA_OK);
    order_request_hash(&req, out);
    cJSON_Delete(j);
}

static void sample_order(order *o)
{
    memset(o, 0, sizeof(*o));
    strcpy(o->id, "6f1c0a52-8d3e-4b7a-9c1d-2e3f4a5b6c7d");
    strcpy(o->customer_id, "alice");
    o->status = ORDER_PENDING;
    strcpy(o->currency, "EUR");
    strcpy(o->deadline, "2026-11-22T10:00:30.000Z");
    strcpy(o->created_at, "2026-11-22T10:00:00.000Z");
    strcpy(o->updated_at, "2026-11-22T10:00:00.000Z");
    o->nlines = 2;
    strcpy(o->lines[0].sku, "APPLE-1");
    o->lines[0].quantity = 2;
    strcpy(o->lines[1].sku, "PEAR.2");
    o->lines[1].quantity = 1;
}

/* --- states --- */

START_TEST(test_status_names)
{
    order_status s;
    order_reason r;
    for (int i = 0; i < ORDER_STATUS_COUNT; i++) {
        ck_assert_int_eq(order_status_parse(order_status_str((order_status)i), &s), SAGA_OK);
        ck_assert_int_eq(s, i);
    }
    for (int i = 1; i < ORDER_REASON_COUNT; i++) {
        ck_assert_int_eq(order_reason_parse(order_reason_str((order_reason)i), &r), SAGA_OK);
        ck_assert_int_eq(r, i);
    }
    ck_assert_str_eq(order_status_str(ORDER_AWAITING_PAYMENT), "AWAITING_PAYMENT");
    ck_assert_str_eq(order_reason_str(ORDER_REASON_TIMEOUT), "TIMEOUT");
    ck_assert_ptr_null(order_reason_str(ORDER_REASON_NONE));
    ck_assert_int_eq(order_status_parse("pending", &s), SAGA_ERR_INVALID);
    ck_assert_int_eq(order_status_parse("", &s), SAGA_ERR_INVALID);
    ck_assert_int_eq(order_status_parse(NULL, &s), SAGA_ERR_INVALID);
    ck_assert_int_eq(order_reason_parse("NONE", &r), SAGA_ERR_INVALID);
    ck_assert(order_status_settled(ORDER_CONFIRMED));
    ck_assert(order_status_settled(ORDER_CANCELLED));
    ck_assert(!order_status_settled(ORDER_PENDING));
    ck_assert(!order_status_settled(ORDER_AWAITING_PAYMENT));
}
END_TEST

START_TEST(test_input_types)
{
    order_input in;
    ck_assert_int_eq(order_input_from_type("InventoryReserved", &in), SAGA_OK);
    ck_assert_int_eq(in, ORDER_IN_INVENTORY_RESERVED);
    ck_assert_int_eq(order_input_from_type("PaymentRefunded", &in), SAGA_OK);
    ck_assert_int_eq(in, ORDER_IN_PAYMENT_REFUNDED);
    /* what order-service emits itself, or nobody sends */
    ck_assert_int_eq(order_input_from_type("OrderCreated", &in), SAGA_ERR_NOT_FOUND);
    ck_assert_int_eq(order_input_from_type("inventoryreserved", &in), SAGA_ERR_NOT_FOUND);
    ck_assert_int_eq(order_input_from_type(NULL, &in), SAGA_ERR_NOT_FOUND);
}
END_TEST

/* --- the state machine --- */

static order_step decide(order_status cur, order_input in)
{
    order_step st;
    ck_assert_int_eq(order_step_decide(cur, in, &st), SAGA_OK);
    ck_assert_int_eq(st.changed, st.next != cur);
    return st;
}

START_TEST(test_happy_path)
{
    order_step st = decide(ORDER_PENDING, ORDER_IN_INVENTORY_RESERVED);
    ck_assert_int_eq(st.next, ORDER_AWAITING_PAYMENT);
    ck_assert(st.record_amount && st.record_prices && !st.record_payment);
    ck_assert_int_eq(st.emit, ORDER_EMIT_NONE);

    st = decide(ORDER_AWAITING_PAYMENT, ORDER_IN_PAYMENT_COMPLETED);
    ck_assert_int_eq(st.next, ORDER_CONFIRMED);
    ck_assert(st.record_payment && !st.record_amount);
    ck_assert_int_eq(st.emit, ORDER_EMIT_CONFIRMED);
}
END_TEST

START_TEST(test_payment_before_reservation)
{
    /* PaymentCompleted consumed before InventoryReserved (other topic): confirm */
    order_step st = decide(ORDER_PENDING, ORDER_IN_PAYMENT_COMPLETED);
    ck_assert_int_eq(st.next, ORDER_CONFIRMED);
    ck_assert(st.record_payment);
    ck_assert_int_eq(st.emit, ORDER_EMIT_CONFIRMED);
    /* ...then the reservation: prices only, state kept, nothing emitted */
    st = decide(ORDER_CONFIRMED, ORDER_IN_INVENTORY_RESERVED);
    ck_assert_int_eq(st.next, ORDER_CONFIRMED);
    ck_assert(!st.changed && st.record_prices && !st.record_amount);
    ck_assert_int_eq(st.emit, ORDER_EMIT_NONE);
}
END_TEST

START_TEST(test_cancellations)
{
    static const struct {
        order_input in;
        order_reason reason;
    } cases[] = {
        {ORDER_IN_INVENTORY_SHORTAGE, ORDER_REASON_OUT_OF_STOCK},
        {ORDER_IN_PAYMENT_FAILED, ORDER_REASON_PAYMENT_DECLINED},
        {ORDER_IN_TIMEOUT, ORDER_REASON_TIMEOUT},
        {ORDER_IN_CUSTOMER_CANCEL, ORDER_REASON_CUSTOMER_REQUEST},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (order_status s = ORDER_PENDING; s <= ORDER_AWAITING_PAYMENT; s++) {
            order_step st = decide(s, cases[i].in);
            ck_assert_int_eq(st.next, ORDER_CANCELLED);
            ck_assert_int_eq(st.emit, ORDER_EMIT_CANCELLED);
            ck_assert_int_eq(st.reason, cases[i].reason);
            ck_assert(!st.record_amount && !st.record_payment);
        }
    }
}
END_TEST

START_TEST(test_customer_cancel_of_confirmed)
{
    /* the one way out of CONFIRMED: refund and restock downstream */
    order_step st = decide(ORDER_CONFIRMED, ORDER_IN_CUSTOMER_CANCEL);
    ck_assert_int_eq(st.next, ORDER_CANCELLED);
    ck_assert_int_eq(st.emit, ORDER_EMIT_CANCELLED);
    ck_assert_int_eq(st.reason, ORDER_REASON_CUSTOMER_REQUEST);
    /* twice: 409 */
    ck_assert_int_eq(order_step_decide(ORDER_CANCELLED, ORDER_IN_CUSTOMER_CANCEL, &st),
                     SAGA_ERR_CONFLICT);
}
END_TEST

START_TEST(test_settled_orders_stay)
{
    /* a timed-out order stays cancelled when the payment completes after all */
    order_step st = decide(ORDER_CANCELLED, ORDER_IN_PAYMENT_COMPLETED);
    ck_assert_int_eq(st.next, ORDER_CANCELLED);
    ck_assert(!st.changed && !st.record_payment);
    ck_assert_int_eq(st.emit, ORDER_EMIT_NONE);
    /* nothing but the customer moves a confirmed or cancelled order */
    static const order_input others[] = {
        ORDER_IN_INVENTORY_RESERVED,
        ORDER_IN_INVENTORY_SHORTAGE,
        ORDER_IN_INVENTORY_RELEASED,
        ORDER_IN_PAYMENT_COMPLETED,
        ORDER_IN_PAYMENT_FAILED,
        ORDER_IN_PAYMENT_REFUNDED,
        ORDER_IN_TIMEOUT,
    };
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
        st = decide(ORDER_CANCELLED, others[i]);
        ck_assert(!st.changed && !st.record_amount && !st.record_prices && !st.record_payment);
        ck_assert_int_eq(st.emit, ORDER_EMIT_NONE);
        st = decide(ORDER_CONFIRMED, others[i]);
        ck_assert(!st.changed && !st.record_amount && !st.record_payment);
        ck_assert_int_eq(st.emit, ORDER_EMIT_NONE);
    }
}
END_TEST

START_TEST(test_history_only_events)
{
    for (order_status s = ORDER_PENDING; s < ORDER_STATUS_COUNT; s++) {
        order_step a = decide(s, ORDER_IN_INVENTORY_RELEASED);
        order_step b = decide(s, ORDER_IN_PAYMENT_REFUNDED);
        ck_assert(!a.changed && !b.changed);
        ck_assert_int_eq(a.emit, ORDER_EMIT_NONE);
        ck_assert_int_eq(b.emit, ORDER_EMIT_NONE);
    }
    /* a second reservation of an order already awaiting payment changes nothing */
    order_step st = decide(ORDER_AWAITING_PAYMENT, ORDER_IN_INVENTORY_RESERVED);
    ck_assert(!st.changed && !st.record_amount && !st.record_prices);
}
END_TEST

/* --- request validation --- */

START_TEST(test_request_valid)
{
    order_request req;
    order_error err;
    ck_assert_int_eq(check_body("{\"customerId\":\"alice\",\"items\":[{\"sku\":\"A-1\","
                                "\"quantity\":2},{\"sku\":\"b_2.x\",\"quantity\":1000}]}",
                                &req, &err),
                     SAGA_OK);
    ck_assert_int_eq(req.nlines, 2);
    ck_assert_str_eq(req.currency, "EUR");
    ck_assert_int_eq(req.lines[1].quantity, 1000);
    /* currency given as the shop's, or null */
    ck_assert_int_eq(check_body("{\"customerId\":\"c\",\"items\":[{\"sku\":\"A\",\"quantity\":1}],"
                                "\"currency\":\"EUR\"}",
                                &req, &err),
                     SAGA_OK);
    ck_assert_int_eq(check_body("{\"customerId\":\"c\",\"items\":[{\"sku\":\"A\",\"quantity\":1}],"
                                "\"currency\":null}",
                                &req, &err),
                     SAGA_OK);
    /* 64 characters: the longest customer id */
    char body[512] = "{\"customerId\":\"";
    for (int i = 0; i < 64; i++)
        strcat(body, "c");
    strcat(body, "\",\"items\":[{\"sku\":\"A\",\"quantity\":1}]}");
    ck_assert_int_eq(check_body(body, &req, &err), SAGA_OK);
    /* not in its one spelling: refused, never trimmed */
    ck_assert_int_eq(check_body("{\"customerId\":\"bob \",\"items\":[{\"sku\":\"A\","
                                "\"quantity\":1}]}",
                                &req, &err),
                     SAGA_ERR_INVALID);
    ck_assert_str_eq(err.field, "customerId");
}
END_TEST

START_TEST(test_request_fields)
{
    assert_field("[1,2]", "");
    assert_field("{\"customerId\":\"a\",\"items\":[{\"sku\":\"A\",\"quantity\":1}],\"x\":1}", "x");
    assert_field("{\"items\":[{\"sku\":\"A\",\"quantity\":1}]}", "customerId");
    assert_field("{\"customerId\":\"\",\"items\":[{\"sku\":\"A\",\"quantity\":1}]}", "customerId");
    assert_field("{\"customerId\":7,\"items\":[{\"sku\":\"A\",\"quantity\":1}]}", "customerId");
    assert_field("{\"customerId\":\"a\"}", "items");
    assert_field("{\"customerId\":\"a\",\"items\":{}}", "items");
    assert_field("{\"customerId\":\"a\",\"items\":[]}", "items");
    assert_field("{\"customerId\":\"a\",\"items\":[7]}", "items[0]");
    assert_field("{\"customerId\":\"a\",\"items\":[{\"quantity\":1}]}", "items[0].sku");
    assert_field("{\"customerId\":\"a\",\"items\":[{\"sku\":\"-A\",\"quantity\":1}]}",
                 "items[0].sku");
    assert_field("{\"customerId\":\"a\",\"items\":[{\"sku\":\"A B\",\"quantity\":1}]}",
                 "items[0].sku");
    assert_field("{\"customerId\":\"a\",\"items\":[{\"sku\":\"A\"}]}", "items[0].quantity");
    assert_field("{\"customerId\":\"a\",\"items\":[{\"sku\":\"A\",\"quantity\":0}]}",
                 "items[0].quantity");
    assert_field("{\"customerId\":\"a\",\"items\":[{\"sku\":\"A\",\"quantity\":-3}]}",
                 "items[0].quantity");
    assert_field("{\"customerId\":\"a\",\"items\":[{\"sku\":\"A\",\"quantity\":1.5}]}",
                 "items[0].quantity");
    assert_field("{\"customerId\":\"a\",\"items\":[{\"sku\":\"A\",\"quantity\":\"1\"}]}",
                 "items[0].quantity");
    assert_field("{\"customerId\":\"a\",\"items\":[{\"sku\":\"A\",\"quantity\":1001}]}",
                 "items[0].quantity");
    assert_field("{\"customerId\":\"a\",\"items\":[{\"sku\":\"A\",\"quantity\":1,\"price\":1}]}",
                 "items[0].price");
    assert_field("{\"customerId\":\"a\",\"items\":[{\"sku\":\"A\",\"quantity\":1},"
                 "{\"sku\":\"B\",\"quantity\":1},{\"sku\":\"A\",\"quantity\":2}]}",
                 "items[2].sku");
    assert_field("{\"customerId\":\"a\",\"items\":[{\"sku\":\"A\",\"quantity\":1}],"
                 "\"currency\":\"USD\"}",
                 "currency");
    assert_field("{\"customerId\":\"a\",\"items\":[{\"sku\":\"A\",\"quantity\":1}],"
                 "\"currency\":1}",
                 "currency");
}
END_TEST

START_TEST(test_request_hash)
{
    char a[ORDER_HASH_LEN + 1], b[ORDER_HASH_LEN + 1], c[ORDER_HASH_LEN + 1];
    hash_of("{\"customerId\":\"alice\",\"items\":[{\"sku\":\"A\",\"quantity\":1},"
            "{\"sku\":\"B\",\"quantity\":2}]}",
            a);
    ck_assert_int_eq(strlen(a), ORDER_HASH_LEN);
    for (size_t i = 0; i < ORDER_HASH_LEN; i++)
        ck_assert(strchr("0123456789abcdef", a[i]) != NULL);
    /* the same order: other line order, members reordered, currency spelt out */
    hash_of("{\"items\":[{\"quantity\":2,\"sku\":\"B\"},{\"sku\":\"A\",\"quantity\":1}],"
            "\"currency\":\"EUR\",\"customerId\":\"alice\"}",
            b);
    ck_assert_str_eq(a, b);
    /* a different quantity, customer or sku is a different request */
    hash_of("{\"customerId\":\"alice\",\"items\":[{\"sku\":\"A\",\"quantity\":1},"
            "{\"sku\":\"B\",\"quantity\":3}]}",
            c);
    ck_assert_str_ne(a, c);
    hash_of("{\"customerId\":\"alicf\",\"items\":[{\"sku\":\"A\",\"quantity\":1},"
            "{\"sku\":\"B\",\"quantity\":2}]}",
            c);
    ck_assert_str_ne(a, c);
    hash_of("{\"customerId\":\"alice\",\"items\":[{\"sku\":\"A\",\"quantity\":1}]}", c);
    ck_assert_str_ne(a, c);
    /* the FNV-1a 64 reference values */
    ck_assert_uint_eq(order_fnv1a(ORDER_FNV_OFFSET, "", 0), 0xcbf29ce484222325ULL);
    ck_assert_uint_eq(order_fnv1a(ORDER_FNV_OFFSET, "a", 1), 0xaf63dc4c8601ec8cULL);
    ck_assert_uint_eq(order_fnv1a(ORDER_FNV_OFFSET, "foobar", 6), 0x85944171f73967e8ULL);
}
END_TEST

START_TEST(test_traceparent)
{
    char tp[ORDER_TRACEPARENT_LEN + 1];
    uint8_t rnd[24];
    ck_assert(order_traceparent_valid("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"));
    ck_assert(order_traceparent_valid("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"));
    ck_assert(!order_traceparent_valid("00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01"));
    ck_assert(!order_traceparent_valid("00-00000000000000000000000000000000-b7ad6b7169203331-01"));
    ck_assert(!order_traceparent_valid("00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01"));
    ck_assert(!order_traceparent_valid("ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"));
    ck_assert(!order_traceparent_valid("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331"));
    ck_assert(!order_traceparent_valid("00-0af7651916cd43dd8448eb211c80319c-b7ad6b716920333-01x"));
    ck_assert(!order_traceparent_valid(""));
    ck_assert(!order_traceparent_valid(NULL));
    for (int i = 0; i < 24; i++)
        rnd[i] = (uint8_t)(0xa0 + i);
    order_traceparent_format(rnd, tp);
    ck_assert_str_eq(tp, "00-a0a1a2a3a4a5a6a7a8a9aaabacadaeaf-b0b1b2b3b4b5b6b7-01");
    ck_assert(order_traceparent_valid(tp));
    memset(rnd, 0, sizeof(rnd));
    order_traceparent_format(rnd, tp);
    ck_assert(order_traceparent_valid(tp)); /* never the invalid all-zero ids */
}
END_TEST

START_TEST(test_order_json)
{
    order o;
    sample_order(&o);
    cJSON *j = order_to_json(&o);
    char *text = cJSON_PrintUnformatted(j);
    ck_assert_str_eq(text,
                     "{\"id\":\"6f1c0a52-8d3e-4b7a-9c1d-2e3f4a5b6c7d\",\"customerId\":\"alice\","
                     "\"status\":\"PENDING\",\"cancelReason\":null,\"currency\":\"EUR\","
                     "\"amount\":null,\"items\":[{\"sku\":\"APPLE-1\",\"quantity\":2,"
                     "\"unitPrice\":null},{\"sku\":\"PEAR.2\",\"quantity\":1,\"unitPrice\":null}],"
                     "\"deadline\":\"2026-11-22T10:00:30.000Z\","
                     "\"createdAt\":\"2026-11-22T10:00:00.000Z\","
                     "\"updatedAt\":\"2026-11-22T10:00:00.000Z\"}");
    cJSON_free(text);
    cJSON_Delete(j);

    o.status = ORDER_CANCELLED;
    o.reason = ORDER_REASON_TIMEOUT;
    o.has_amount = true;
    o.amount = 9007199254740991LL; /* the largest amount a schema allows */
    o.lines[0].has_price = true;
    o.lines[0].unit_price = 250;
    j = order_to_json(&o);
    ck_assert_str_eq(cJSON_GetObjectItem(j, "cancelReason")->valuestring, "TIMEOUT");
    text = cJSON_PrintUnformatted(cJSON_GetObjectItem(j, "amount"));
    ck_assert_str_eq(text, "9007199254740991");
    cJSON_free(text);
    cJSON *item = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "items"), 0);
    text = cJSON_PrintUnformatted(item);
    ck_assert_str_eq(text, "{\"sku\":\"APPLE-1\",\"quantity\":2,\"unitPrice\":250}");
    cJSON_free(text);
    cJSON_Delete(j);
}
END_TEST

START_TEST(test_event_data)
{
    order o;
    char *text;
    sample_order(&o);
    cJSON *d = order_created_data(&o);
    text = cJSON_PrintUnformatted(d);
    ck_assert_str_eq(text, "{\"orderId\":\"6f1c0a52-8d3e-4b7a-9c1d-2e3f4a5b6c7d\","
                           "\"customerId\":\"alice\",\"items\":[{\"sku\":\"APPLE-1\","
                           "\"quantity\":2},{\"sku\":\"PEAR.2\",\"quantity\":1}],"
                           "\"currency\":\"EUR\",\"deadline\":\"2026-11-22T10:00:30.000Z\"}");
    cJSON_free(text);
    cJSON_Delete(d);

    o.has_amount = true;
    o.amount = 1250;
    d = order_confirmed_data(&o);
    text = cJSON_PrintUnformatted(d);
    ck_assert_str_eq(text, "{\"orderId\":\"6f1c0a52-8d3e-4b7a-9c1d-2e3f4a5b6c7d\","
                           "\"customerId\":\"alice\",\"amount\":1250,\"currency\":\"EUR\"}");
    cJSON_free(text);
    cJSON_Delete(d);

    d = order_cancelled_data(&o, ORDER_REASON_CUSTOMER_REQUEST, ORDER_CONFIRMED);
    text = cJSON_PrintUnformatted(d);
    ck_assert_str_eq(text, "{\"orderId\":\"6f1c0a52-8d3e-4b7a-9c1d-2e3f4a5b6c7d\","
                           "\"customerId\":\"alice\",\"reason\":\"CUSTOMER_REQUEST\","
                           "\"previousStatus\":\"CONFIRMED\"}");
    cJSON_free(text);
    cJSON_Delete(d);
    /* no event says a cancelled order was cancelled again, or without a reason */
    ck_assert_ptr_null(order_cancelled_data(&o, ORDER_REASON_TIMEOUT, ORDER_CANCELLED));
    ck_assert_ptr_null(order_cancelled_data(&o, ORDER_REASON_NONE, ORDER_PENDING));
}
END_TEST

/* --- limits --- */

START_TEST(test_line_limits)
{
    char body[8192];
    size_t len;
    order_request req;
    order_error err;

    /* 50 lines pass, 51 do not */
    for (int n = 50; n <= 51; n++) {
        len = (size_t)snprintf(body, sizeof(body), "{\"customerId\":\"a\",\"items\":[");
        for (int i = 0; i < n; i++)
            len += (size_t)snprintf(body + len, sizeof(body) - len,
                                    "%s{\"sku\":\"S%d\",\"quantity\":1000}", i ? "," : "", i);
        snprintf(body + len, sizeof(body) - len, "]}");
        if (n == 50) {
            ck_assert_int_eq(check_body(body, &req, &err), SAGA_OK);
            ck_assert_int_eq(req.nlines, 50);
        } else {
            assert_field(body, "items");
        }
    }
}
END_TEST

START_TEST(test_string_limits)
{
    char body[1024], sku[80];
    order_request req;
    order_error err;

    /* customerId: 64 characters pass, 65 do not; invalid UTF-8 does not */
    memset(sku, 'c', 65);
    sku[65] = '\0';
    snprintf(body, sizeof(body),
             "{\"customerId\":\"%.64s\",\"items\":[{\"sku\":\"A\","
             "\"quantity\":1}]}",
             sku);
    ck_assert_int_eq(check_body(body, &req, &err), SAGA_OK);
    snprintf(body, sizeof(body),
             "{\"customerId\":\"%s\",\"items\":[{\"sku\":\"A\","
             "\"quantity\":1}]}",
             sku);
    assert_field(body, "customerId");
    assert_field("{\"customerId\":\"\xc3\x28\",\"items\":[{\"sku\":\"A\",\"quantity\":1}]}",
                 "customerId");

    /* sku: 64 characters pass, 65 do not */
    memset(sku, 'S', 65);
    sku[65] = '\0';
    snprintf(body, sizeof(body),
             "{\"customerId\":\"a\",\"items\":[{\"sku\":\"%.64s\","
             "\"quantity\":1}]}",
             sku);
    ck_assert_int_eq(check_body(body, &req, &err), SAGA_OK);
    snprintf(body, sizeof(body),
             "{\"customerId\":\"a\",\"items\":[{\"sku\":\"%s\","
             "\"quantity\":1}]}",
             sku);
    assert_field(body, "items[0].sku");
    ck_assert(order_sku_valid("a"));
    ck_assert(order_sku_valid("9._-"));
    ck_assert(!order_sku_valid(""));
    ck_assert(!order_sku_valid(".a"));
    ck_assert(!order_sku_valid("a/b"));
    ck_assert(!order_sku_valid(NULL));

    /* a huge number is not a quantity */
    assert_field("{\"customerId\":\"a\",\"items\":[{\"sku\":\"A\",\"quantity\":1e400}]}",
                 "items[0].quantity");
}
END_TEST

START_TEST(test_idem_key_limits)
{
    char key[200];
    memset(key, 'k', 128);
    key[128] = '\0';
    ck_assert(order_idem_key_valid(key));
    key[128] = 'k';
    key[129] = '\0';
    ck_assert(!order_idem_key_valid(key));
    ck_assert(order_idem_key_valid("a"));
    ck_assert(order_idem_key_valid("order-42/retry:1"));
    ck_assert(!order_idem_key_valid("order 42")); /* no spaces: one spelling per key */
    ck_assert(!order_idem_key_valid("k "));
    ck_assert(!order_idem_key_valid(""));
    ck_assert(!order_idem_key_valid(NULL));
    ck_assert(!order_idem_key_valid("tab\there"));
    ck_assert(!order_idem_key_valid("caf\xc3\xa9"));
}
END_TEST

START_TEST(test_customer_id_rule)
{
    /* the one spelling of a customer id, which every service, the token subject and
     * the event schemas share: nothing is trimmed, folded or normalised */
    char long_id[66];
    memset(long_id, 'a', 64);
    long_id[64] = '\0';
    ck_assert(saga_text_is_customer_id(long_id));
    strcat(long_id, "a");
    ck_assert(!saga_text_is_customer_id(long_id)); /* 65 */
    ck_assert(saga_text_is_customer_id("alice"));
    ck_assert(saga_text_is_customer_id("Alice"));  /* another customer than alice */
    ck_assert(saga_text_is_customer_id("c.d_e-f9"));
    ck_assert(saga_text_is_customer_id("9lives"));
    ck_assert(!saga_text_is_customer_id("bob "));  /* a trailing space */
    ck_assert(!saga_text_is_customer_id(" bob"));
    ck_assert(!saga_text_is_customer_id("bob smith"));
    ck_assert(!saga_text_is_customer_id("-bob"));
    ck_assert(!saga_text_is_customer_id(".bob"));
    ck_assert(!saga_text_is_customer_id("bob:1")); /* would blur Redis key fields */
    ck_assert(!saga_text_is_customer_id("\xc3\xa9t\xc3\xa9"));
    ck_assert(!saga_text_is_customer_id(""));
    ck_assert(!saga_text_is_customer_id(NULL));
    ck_assert(!saga_text_is_customer_id("tab\there"));
    ck_assert(!saga_text_is_customer_id("bob\xc2\xa0")); /* a no-break space */
}
END_TEST

START_TEST(test_uuid_rule)
{
    ck_assert(saga_text_is_uuid("0f8fad5b-d9cb-469f-a165-70867728950e"));
    ck_assert(!saga_text_is_uuid("0F8FAD5B-D9CB-469F-A165-70867728950E"));
    ck_assert(!saga_text_is_uuid("0f8fad5b-d9cb-469f-a165-70867728950e "));
    ck_assert(!saga_text_is_uuid(" 0f8fad5b-d9cb-469f-a165-70867728950e"));
    ck_assert(!saga_text_is_uuid("0f8fad5b-d9cb-469f-a165-70867728950"));
    ck_assert(!saga_text_is_uuid("0f8fad5bd9cb-469f-a165-70867728950e0"));
    ck_assert(!saga_text_is_uuid(""));
    ck_assert(!saga_text_is_uuid(NULL));
}
END_TEST

START_TEST(test_int_limits)
{
    long v = -1;
    ck_assert_int_eq(order_parse_int("0", 0, 30, &v), SAGA_OK);
    ck_assert_int_eq(v, 0);
    ck_assert_int_eq(order_parse_int("30", 0, 30, &v), SAGA_OK);
    ck_assert_int_eq(v, 30);
    ck_assert_int_eq(order_parse_int("31", 0, 30, &v), SAGA_ERR_INVALID);
    ck_assert_int_eq(order_parse_int("-1", 0, 30, &v), SAGA_ERR_INVALID);
    ck_assert_int_eq(order_parse_int("", 0, 30, &v), SAGA_ERR_INVALID);
    ck_assert_int_eq(order_parse_int(NULL, 0, 30, &v), SAGA_ERR_INVALID);
    ck_assert_int_eq(order_parse_int("1.5", 0, 30, &v), SAGA_ERR_INVALID);
    ck_assert_int_eq(order_parse_int(" 5", 0, 30, &v), SAGA_ERR_INVALID);
    ck_assert_int_eq(order_parse_int("5x", 0, 30, &v), SAGA_ERR_INVALID);
    ck_assert_int_eq(order_parse_int("99999999999999999999999", 0, 30, &v), SAGA_ERR_INVALID);
    ck_assert_int_eq(order_parse_int("0", 1, 100, &v), SAGA_ERR_INVALID);
    ck_assert_int_eq(order_parse_int("100", 1, 100, &v), SAGA_OK);
}
END_TEST

START_TEST(test_state_limits)
{
    order_step st;
    ck_assert_int_eq(order_step_decide(ORDER_STATUS_COUNT, ORDER_IN_TIMEOUT, &st),
                     SAGA_ERR_INVALID);
    ck_assert_int_eq(order_step_decide(ORDER_PENDING, ORDER_INPUT_COUNT, &st), SAGA_ERR_INVALID);
    ck_assert_str_eq(order_status_str(ORDER_STATUS_COUNT), "?");
    ck_assert_ptr_null(order_reason_str(ORDER_REASON_COUNT));
}
END_TEST

static Suite *order_suite(void)
{
    Suite *s = suite_create("order");
    TCase *core = tcase_create("core");
    tcase_add_test(core, test_status_names);
    tcase_add_test(core, test_input_types);
    tcase_add_test(core, test_happy_path);
    tcase_add_test(core, test_payment_before_reservation);
    tcase_add_test(core, test_cancellations);
    tcase_add_test(core, test_customer_cancel_of_confirmed);
    tcase_add_test(core, test_settled_orders_stay);
    tcase_add_test(core, test_history_only_events);
    tcase_add_test(core, test_request_valid);
    tcase_add_test(core, test_request_fields);
    tcase_add_test(core, test_request_hash);
    tcase_add_test(core, test_traceparent);
    tcase_add_test(core, test_order_json);
    tcase_add_test(core, test_event_data);
    suite_add_tcase(s, core);
    TCase *limits = tcase_create("limits");
    tcase_add_test(limits, test_line_limits);
    tcase_add_test(limits, test_string_limits);
    tcase_add_test(limits, test_idem_key_limits);
    tcase_add_test(limits, test_customer_id_rule);
    tcase_add_test(limits, test_uuid_rule);
    tcase_add_test(limits, test_int_limits);
    tcase_add_test(limits, test_state_limits);
    suite_add_tcase(s, limits);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(order_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
