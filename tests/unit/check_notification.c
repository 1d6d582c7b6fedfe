/* check_notification.c - notification-service's domain rules: channels, the message and
 * its renderings (payload JSON, summary, e-mail), the retry schedule, time formats. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "saga/err.h"
#include "notification.h"

/* --- fixtures --- */

static cJSON *confirmed_data(const char *order_id, const char *customer_id, double amount)
{
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "orderId", order_id);
    cJSON_AddStringToObject(d, "customerId", customer_id);
    cJSON_AddNumberToObject(d, "amount", amount);
    cJSON_AddStringToObject(d, "currency", "EUR");
    return d;
}

static cJSON *cancelled_data(const char *reason)
{
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "orderId", "7465bae4-f9f0-45cb-a13e-7c14011ba103");
    cJSON_AddStringToObject(d, "customerId", "cust-2");
    cJSON_AddStringToObject(d, "reason", reason);
    cJSON_AddStringToObject(d, "previousStatus", "AWAITING_PAYMENT");
    return d;
}

static void confirmed_msg(notification_msg *m)
{
    char err[256];
    cJSON *d = confirmed_data("78bb66b0-ec72-4258-9317-144fec422b56", "cust-1", 2500);
    ck_assert_int_eq(notification_msg_from_event("OrderConfirmed", d, m, err, sizeof(err)),
                     SAGA_OK);
    cJSON_Delete(d);
    strcpy(m->id, "c020da12-aa81-42dd-8a60-d951294fa47b");
    strcpy(m->created_at, "2026-11-22T11:57:28.476Z");
}

/* True if every line of msg ends in CRLF, with no bare CR or LF and no line over max. */
static int crlf_clean(const char *msg, size_t len, size_t max)
{
    size_t line = 0;
    for (size_t i = 0; i < len; i++) {
        if (msg[i] == '\r') {
            if (i + 1 >= len || msg[i + 1] != '\n')
                return 0;
            i++;
            line = 0;
        } else if (msg[i] == '\n') {
            return 0;
        } else if (++line > max) {
            return 0;
        }
    }
    return len >= 2 && msg[len - 2] == '\r' && msg[len - 1] == '\n';
}

/* --- core --- */

START_TEST(test_names)
{
    notification_channel ch;
    notification_trigger t;
    for (int i = 0; i < NOTIFY_CH_COUNT; i++) {
        const char *name = notification_channel_name((notification_channel)i);
        ck_assert_int_eq(notification_channel_parse(name, strlen(name), &ch), SAGA_OK);
        ck_assert_int_eq(ch, i);
    }
    ck_assert_str_eq(notification_channel_name(NOTIFY_CH_WEBHOOK), "webhook");
    ck_assert_int_eq(notification_trigger_parse("OrderCancelled", &t), SAGA_OK);
    ck_assert_int_eq(t, NOTIFY_TRIGGER_CANCELLED);
    ck_assert_str_eq(notification_trigger_name(NOTIFY_TRIGGER_CONFIRMED), "OrderConfirmed");
    ck_assert_int_eq(notification_trigger_parse("OrderCreated", &t), SAGA_ERR_INVALID);
}
END_TEST

START_TEST(test_channels_parse)
{
    unsigned mask = 0;
    char err[256];
    ck_assert_int_eq(notification_channels_parse("log", &mask, err, sizeof(err)), SAGA_OK);
    ck_assert_uint_eq(mask, NOTIFY_CH_BIT(NOTIFY_CH_LOG));
    ck_assert_int_eq(notification_channels_parse(" log , webhook\t", &mask, err, sizeof(err)),
                     SAGA_OK);
    ck_assert_uint_eq(mask, NOTIFY_CH_BIT(NOTIFY_CH_LOG) | NOTIFY_CH_BIT(NOTIFY_CH_WEBHOOK));
    ck_assert_int_eq(notification_channels_parse("email,log,email", &mask, err, sizeof(err)),
                     SAGA_OK);
    ck_assert_uint_eq(mask, NOTIFY_CH_BIT(NOTIFY_CH_LOG) | NOTIFY_CH_BIT(NOTIFY_CH_EMAIL));
}
END_TEST

START_TEST(test_channels_check)
{
    unsigned all = NOTIFY_CH_BIT(NOTIFY_CH_LOG) | NOTIFY_CH_BIT(NOTIFY_CH_WEBHOOK) |
                   NOTIFY_CH_BIT(NOTIFY_CH_EMAIL);
    char err[256];
    ck_assert_int_eq(notification_channels_check(NOTIFY_CH_BIT(NOTIFY_CH_LOG), NULL, NULL, NULL,
                                                 NULL, err, sizeof(err)),
                     SAGA_OK);
    ck_assert_int_eq(notification_channels_check(all, "http://127.0.0.1:9/hook",
                                                 "smtp://127.0.0.1:2525", "shop@example.com",
                                                 "example.com", err, sizeof(err)),
                     SAGA_OK);
    ck_assert_int_eq(notification_channels_check(NOTIFY_CH_BIT(NOTIFY_CH_WEBHOOK), "", NULL, NULL,
                                                 NULL, err, sizeof(err)),
                     SAGA_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "SAGA_WEBHOOK_URL"));
    ck_assert_int_eq(notification_channels_check(NOTIFY_CH_BIT(NOTIFY_CH_EMAIL), NULL, "smtp://h",
                                                 "", "example.com", err, sizeof(err)),
                     SAGA_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "SAGA_SMTP_FROM"));
    ck_assert_int_eq(notification_channels_check(NOTIFY_CH_BIT(NOTIFY_CH_EMAIL), NULL, "", "a@b.c",
                                                 "example.com", err, sizeof(err)),
                     SAGA_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "SAGA_SMTP_URL"));
}
END_TEST

START_TEST(test_msg_from_event)
{
    notification_msg m;
    char err[256];
    cJSON *d = cancelled_data("OUT_OF_STOCK");

    confirmed_msg(&m);
    ck_assert_int_eq(m.trigger, NOTIFY_TRIGGER_CONFIRMED);
    ck_assert_str_eq(m.customer_id, "cust-1");
    ck_assert_int_eq(m.amount, 2500);
    ck_assert_str_eq(m.currency, "EUR");
    ck_assert_str_eq(m.reason, "");

    ck_assert_int_eq(notification_msg_from_event("OrderCancelled", d, &m, err, sizeof(err)),
                     SAGA_OK);
    ck_assert_int_eq(m.trigger, NOTIFY_TRIGGER_CANCELLED);
    ck_assert_str_eq(m.reason, "OUT_OF_STOCK");
    ck_assert_str_eq(m.previous_status, "AWAITING_PAYMENT");
    ck_assert_int_eq(m.amount, -1);
    cJSON_Delete(d);
}
END_TEST

START_TEST(test_payload_round_trip)
{
    notification_msg m, back;
    char *text;
    cJSON *doc;

    confirmed_msg(&m);
    text = notification_payload_print(&m);
    ck_assert_ptr_nonnull(text);
    doc = cJSON_Parse(text);
    ck_assert_str_eq(cJSON_GetObjectItem(doc, "id")->valuestring, m.id);
    ck_assert_str_eq(cJSON_GetObjectItem(doc, "trigger")->valuestring, "OrderConfirmed");
    ck_assert_str_eq(cJSON_GetObjectItem(doc, "status")->valuestring, "CONFIRMED");
    ck_assert_int_eq(cJSON_GetObjectItem(doc, "amount")->valueint, 2500);
    ck_assert_str_eq(cJSON_GetObjectItem(doc, "createdAt")->valuestring, m.created_at);
    ck_assert_ptr_null(cJSON_GetObjectItem(doc, "reason"));
    ck_assert_ptr_nonnull(strstr(text, "\"amount\":2500,")); /* an integer, not 2500.0 */
    cJSON_Delete(doc);
    ck_assert_int_eq(notification_payload_parse(text, strlen(text), &back), SAGA_OK);
    ck_assert_int_eq(memcmp(&m, &back, sizeof(m)), 0);
    cJSON_free(text);

    /* a cancellation: reason, no amount */
    cJSON *d = cancelled_data("TIMEOUT");
    char err[256];
    ck_assert_int_eq(notification_msg_from_event("OrderCancelled", d, &m, err, sizeof(err)),
                     SAGA_OK);
    cJSON_Delete(d);
    strcpy(m.id, "3eb62377-02f0-4b19-a052-bddee8c34c5c");
    strcpy(m.created_at, "2026-11-22T11:57:49.887Z");
    text = notification_payload_print(&m);
    doc = cJSON_Parse(text);
    ck_assert_str_eq(cJSON_GetObjectItem(doc, "status")->valuestring, "CANCELLED");
    ck_assert_str_eq(cJSON_GetObjectItem(doc, "reason")->valuestring, "TIMEOUT");
    ck_assert_ptr_null(cJSON_GetObjectItem(doc, "amount"));
    cJSON_Delete(doc);
    ck_assert_int_eq(notification_payload_parse(text, strlen(text), &back), SAGA_OK);
    ck_assert_int_eq(memcmp(&m, &back, sizeof(m)), 0);
    cJSON_free(text);
}
END_TEST

START_TEST(test_summary)
{
    notification_msg m;
    char out[256], err[256];
    cJSON *d = cancelled_data("PAYMENT_DECLINED");

    confirmed_msg(&m);
    notification_summary(&m, out, sizeof(out));
    ck_assert_str_eq(out, "Order 78bb66b0-ec72-4258-9317-144fec422b56 is confirmed: 25.00 EUR.");
    ck_assert_int_eq(notification_msg_from_event("OrderCancelled", d, &m, err, sizeof(err)),
                     SAGA_OK);
    cJSON_Delete(d);
    notification_summary(&m, out, sizeof(out));
    ck_assert_str_eq(out, "Order 7465bae4-f9f0-45cb-a13e-7c14011ba103 was cancelled: the payment"
                          " was declined.");
    notification_amount_format(5, out, sizeof(out));
    ck_assert_str_eq(out, "0.05");
    notification_amount_format(0, out, sizeof(out));
    ck_assert_str_eq(out, "0.00");
    notification_amount_format(123456789, out, sizeof(out));
    ck_assert_str_eq(out, "1234567.89");
}
END_TEST

START_TEST(test_email)
{
    notification_msg m;
    char to[128];
    size_t len = 0;
    char *msg;

    confirmed_msg(&m);
    ck_assert_int_eq(notification_email_recipient("cust-1", "example.com", to, sizeof(to)),
                     SAGA_OK);
    ck_assert_str_eq(to, "cust-1@example.com");
    /* 2026-11-22T11:57:28Z, a Sunday */
    msg = notification_email_render(&m, "shop@saga.example", to, 1795348648000LL, &len);
    ck_assert_ptr_nonnull(msg);
    ck_assert_uint_eq(strlen(msg), len);
    ck_assert_msg(strncmp(msg, "Date: Sun, 22 Nov 2026 11:57:28 +0000\r\n", 39) == 0, "%s", msg);
    ck_assert_ptr_nonnull(strstr(msg, "\r\nFrom: shop@saga.example\r\n"));
    ck_assert_ptr_nonnull(strstr(msg, "\r\nTo: cust-1@example.com\r\n"));
    ck_assert_ptr_nonnull(strstr(
        msg, "\r\nSubject: Your order 78bb66b0-ec72-4258-9317-144fec422b56 is confirmed\r\n"));
    ck_assert_ptr_nonnull(
        strstr(msg, "\r\nMessage-ID: <c020da12-aa81-42dd-8a60-d951294fa47b@saga.example>\r\n"));
    ck_assert_ptr_nonnull(strstr(msg, "\r\n\r\nHello cust-1,\r\n"));
    ck_assert_ptr_nonnull(strstr(msg, "is confirmed: 25.00 EUR."));
    ck_assert(crlf_clean(msg, len, 78));
    free(msg);
}
END_TEST

START_TEST(test_retry_schedule)
{
    unsigned seed = 3;
    long delay = 0;
    /* base 500, cap 30000, 5 attempts: retries after failures 1..4, then FAILED */
    for (int attempts = 1; attempts < 5; attempts++) {
        long ceiling = 500L << (attempts - 1);
        ck_assert(notification_retry_next(attempts, 5, 500, 30000, &seed, &delay));
        ck_assert_int_ge(delay, ceiling / 2);
        ck_assert_int_le(delay, ceiling);
    }
    ck_assert(!notification_retry_next(5, 5, 500, 30000, &seed, &delay));
    ck_assert(notification_http_ok(200) && notification_http_ok(204));
    ck_assert(!notification_http_ok(199) && !notification_http_ok(300) &&
              !notification_http_ok(500));
    ck_assert(notification_smtp_permanent(550) && notification_smtp_permanent(554) &&
              notification_smtp_permanent(500));
    ck_assert(!notification_smtp_permanent(451) && !notification_smtp_permanent(421) &&
              !notification_smtp_permanent(0) && !notification_smtp_permanent(250));
    ck_assert_int_eq(notification_lease_ms(3000), 16000);
}
END_TEST

/* --- limits --- */

START_TEST(test_channels_parse_bad)
{
    static const char *const bad[] = {
        "", "   ", "sms", "log,", ",log", "log,,webhook", "LOG", "log webhook", "email;log"};
    unsigned mask = 77;
    char err[256];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(notification_channels_parse(bad[i], &mask, err, sizeof(err)) ==
                          SAGA_ERR_INVALID,
                      "accepted \"%s\"", bad[i]);
        ck_assert_uint_eq(mask, 77); /* untouched */
    }
    ck_assert_int_eq(notification_channels_parse(NULL, &mask, err, sizeof(err)), SAGA_ERR_INVALID);
    char longname[300];
    memset(longname, 'x', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    ck_assert_int_eq(notification_channels_parse(longname, &mask, err, 16), SAGA_ERR_INVALID);
    ck_assert_uint_lt(strlen(err), 16);
    ck_assert_int_eq(notification_channels_check(0, NULL, NULL, NULL, NULL, err, sizeof(err)),
                     SAGA_ERR_INVALID);
    ck_assert_int_eq(notification_channels_check(NOTIFY_CH_BIT(NOTIFY_CH_WEBHOOK), "ftp://x", NULL,
                                                 NULL, NULL, err, sizeof(err)),
                     SAGA_ERR_INVALID);
    ck_assert_int_eq(notification_channels_check(NOTIFY_CH_BIT(NOTIFY_CH_WEBHOOK), "http://", NULL,
                                                 NULL, NULL, err, sizeof(err)),
                     SAGA_ERR_INVALID);
    ck_assert_int_eq(notification_channels_check(NOTIFY_CH_BIT(NOTIFY_CH_EMAIL), NULL, "smtp://h",
                                                 "Shop <shop@example.com>", "example.com", err,
                                                 sizeof(err)),
                     SAGA_ERR_INVALID);
    ck_assert_int_eq(notification_channels_check(NOTIFY_CH_BIT(NOTIFY_CH_EMAIL), NULL, "smtp://h",
                                                 "shop@example.com", "bad domain", err,
                                                 sizeof(err)),
                     SAGA_ERR_INVALID);
}
END_TEST

START_TEST(test_orders_seen_created)
{
    notification_order o;
    char err[256];
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "orderId", "0b6f3c1e-6d2a-4f7b-9a39-0c1d2e3f4a5b");
    cJSON_AddStringToObject(d, "customerId", "alice");
    cJSON_AddStringToObject(d, "currency", "EUR");
    ck_assert_int_eq(notification_order_from_created(d, &o, err, sizeof(err)), SAGA_OK);
    ck_assert_str_eq(o.order_id, "0b6f3c1e-6d2a-4f7b-9a39-0c1d2e3f4a5b");
    ck_assert_str_eq(o.customer_id, "alice");
    cJSON_Delete(d);

    /* a terminal event needs the order's OrderCreated, and the same customer */
    ck_assert_int_eq(notification_order_check("alice", "alice"), SAGA_OK);
    ck_assert_int_eq(notification_order_check(NULL, "alice"), SAGA_ERR_NOT_FOUND);
    ck_assert_int_eq(notification_order_check("alice", "bob"), SAGA_ERR_CONFLICT);
    ck_assert_int_eq(notification_order_check("alice", "ALICE"), SAGA_ERR_CONFLICT);
    ck_assert_int_eq(notification_order_check("alice", NULL), SAGA_ERR_CONFLICT);
}
END_TEST

START_TEST(test_orders_seen_created_bad)
{
    notification_order o;
    char err[256];
    char long_id[NOTIFY_CUSTOMER_CHARS_MAX + 2];
    cJSON *d;

    ck_assert_int_eq(notification_order_from_created(NULL, &o, err, sizeof(err)), SAGA_ERR_INVALID);
    d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "orderId", "o");
    ck_assert_int_eq(notification_order_from_created(d, &o, err, sizeof(err)), SAGA_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "customerId"));
    memset(long_id, 'c', sizeof(long_id) - 1);
    long_id[sizeof(long_id) - 1] = '\0'; /* 65 bytes: one over */
    cJSON_AddStringToObject(d, "customerId", long_id);
    ck_assert_int_eq(notification_order_from_created(d, &o, err, sizeof(err)), SAGA_ERR_INVALID);
    cJSON_ReplaceItemInObject(d, "customerId", cJSON_CreateString(long_id + 1)); /* 64 */
    ck_assert_int_eq(notification_order_from_created(d, &o, err, sizeof(err)), SAGA_OK);
    cJSON_ReplaceItemInObject(d, "orderId", cJSON_CreateNumber(1));
    ck_assert_int_eq(notification_order_from_created(d, &o, err, sizeof(err)), SAGA_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "orderId"));
    cJSON_Delete(d);
}
END_TEST

START_TEST(test_msg_from_event_bad)
{
    notification_msg m;
    char err[256];
    char order37[38];
    cJSON *d;

    memset(order37, 'a', 37);
    order37[37] = '\0';
    d = confirmed_data(order37, "c", 1);
    ck_assert_int_eq(notification_msg_from_event("OrderConfirmed", d, &m, err, sizeof(err)),
                     SAGA_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "orderId"));
    cJSON_Delete(d);
    order37[36] = '\0'; /* 36 is the limit */
    d = confirmed_data(order37, "c", 1);
    ck_assert_int_eq(notification_msg_from_event("OrderConfirmed", d, &m, err, sizeof(err)),
                     SAGA_OK);
    cJSON_Delete(d);

    static const double bad_amounts[] = {-1, 1.5, 9007199254740992.0, 1e300};
    for (size_t i = 0; i < sizeof(bad_amounts) / sizeof(bad_amounts[0]); i++) {
        d = confirmed_data("o", "c", bad_amounts[i]);
        ck_assert_int_eq(notification_msg_from_event("OrderConfirmed", d, &m, err, sizeof(err)),
                         SAGA_ERR_INVALID);
        cJSON_Delete(d);
    }
    d = confirmed_data("o", "c", 9007199254740991.0);
    ck_assert_int_eq(notification_msg_from_event("OrderConfirmed", d, &m, err, sizeof(err)),
                     SAGA_OK);
    ck_assert_int_eq(m.amount, 9007199254740991LL);
    cJSON_ReplaceItemInObject(d, "currency", cJSON_CreateString("eur"));
    ck_assert_int_eq(notification_msg_from_event("OrderConfirmed", d, &m, err, sizeof(err)),
                     SAGA_ERR_INVALID);
    cJSON_ReplaceItemInObject(d, "currency", cJSON_CreateNumber(978));
    ck_assert_int_eq(notification_msg_from_event("OrderConfirmed", d, &m, err, sizeof(err)),
                     SAGA_ERR_INVALID);
    cJSON_Delete(d);

    char cust65[66];
    memset(cust65, 'c', 65);
    cust65[65] = '\0';
    d = confirmed_data("o", cust65, 1);
    ck_assert_int_eq(notification_msg_from_event("OrderConfirmed", d, &m, err, sizeof(err)),
                     SAGA_ERR_INVALID);
    cJSON_Delete(d);
    /* the limit counts characters: 64 three-byte characters (192 bytes) are fine */
    char cjk64[64 * 3 + 1] = "";
    for (int i = 0; i < 64; i++)
        strcat(cjk64, "\xe5\xbc\xa0");
    d = confirmed_data("o", cjk64, 1);
    ck_assert_int_eq(notification_msg_from_event("OrderConfirmed", d, &m, err, sizeof(err)),
                     SAGA_OK);
    ck_assert_str_eq(m.customer_id, cjk64);
    cJSON_Delete(d);

    d = cancelled_data("TIMEOUT");
    cJSON_DeleteItemFromObject(d, "reason");
    ck_assert_int_eq(notification_msg_from_event("OrderCancelled", d, &m, err, sizeof(err)),
                     SAGA_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "reason"));
    ck_assert_int_eq(notification_msg_from_event("OrderCreated", d, &m, err, sizeof(err)),
                     SAGA_ERR_INVALID);
    ck_assert_int_eq(notification_msg_from_event(NULL, d, &m, err, sizeof(err)), SAGA_ERR_INVALID);
    cJSON_Delete(d);
    d = cJSON_CreateArray();
    ck_assert_int_eq(notification_msg_from_event("OrderConfirmed", d, &m, err, sizeof(err)),
                     SAGA_ERR_INVALID);
    ck_assert_int_eq(notification_msg_from_event("OrderConfirmed", NULL, &m, err, sizeof(err)),
                     SAGA_ERR_INVALID);
    cJSON_Delete(d);
}
END_TEST

START_TEST(test_payload_parse_bad)
{
    static const char *const bad[] = {
        "",
        "null",
        "[]",
        "{",
        "{}",
        "{\"id\":1}",
        "{\"id\":\"a\",\"orderId\":\"o\",\"customerId\":\"c\",\"trigger\":\"OrderCreated\","
        "\"createdAt\":\"t\"}",
        "{\"id\":\"a\",\"orderId\":\"o\",\"customerId\":\"c\",\"trigger\":\"OrderConfirmed\","
        "\"createdAt\":\"t\",\"amount\":-5}",
    };
    notification_msg m;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(notification_payload_parse(bad[i], strlen(bad[i]), &m) == SAGA_ERR_INVALID,
                      "accepted %s", bad[i]);
    /* not NUL-terminated: only len bytes are read */
    const char *ok = "{\"id\":\"a\",\"orderId\":\"o\",\"customerId\":\"c\",\"trigger\":"
                     "\"OrderCancelled\",\"createdAt\":\"t\"}garbage";
    ck_assert_int_eq(notification_payload_parse(ok, strlen(ok) - 7, &m), SAGA_OK);
    ck_assert_int_eq(m.amount, -1);
}
END_TEST

START_TEST(test_email_addresses)
{
    static const char *const good_local[] = {"a",     "cust-1",  "first.last",
                                             "x+tag", "o'brien", "A_B=C"};
    static const char *const bad_local[] = {
        "", ".a", "a.", "a..b", "a b", "a\r\nRCPT TO:<x>", "a<b", "a@b", "\xc3\xa9", "a\"b"};
    char to[80], l64[66];
    for (size_t i = 0; i < sizeof(good_local) / sizeof(good_local[0]); i++)
        ck_assert_msg(notification_email_local_valid(good_local[i]), "%s", good_local[i]);
    for (size_t i = 0; i < sizeof(bad_local) / sizeof(bad_local[0]); i++)
        ck_assert_msg(!notification_email_local_valid(bad_local[i]), "%s", bad_local[i]);
    ck_assert(!notification_email_local_valid(NULL));
    memset(l64, 'x', 65);
    l64[65] = '\0';
    ck_assert(!notification_email_local_valid(l64));
    l64[64] = '\0';
    ck_assert(notification_email_local_valid(l64));

    ck_assert(notification_email_domain_valid("example.com"));
    ck_assert(notification_email_domain_valid("localhost"));
    ck_assert(notification_email_domain_valid("a-b.c0"));
    ck_assert(!notification_email_domain_valid(""));
    ck_assert(!notification_email_domain_valid("-a.com"));
    ck_assert(!notification_email_domain_valid("a-.com"));
    ck_assert(!notification_email_domain_valid("a..com"));
    ck_assert(!notification_email_domain_valid("a.com."));
    ck_assert(!notification_email_domain_valid("a_b.com"));
    ck_assert(!notification_email_domain_valid("a.com\r\n"));

    ck_assert(notification_email_address_valid("shop@example.com"));
    ck_assert(!notification_email_address_valid("@example.com"));
    ck_assert(!notification_email_address_valid("shop@"));
    ck_assert(!notification_email_address_valid("shop"));
    ck_assert(!notification_email_address_valid("<shop@example.com>"));
    ck_assert(!notification_email_address_valid(NULL));

    ck_assert_int_eq(notification_email_recipient("bad cust", "example.com", to, sizeof(to)),
                     SAGA_ERR_INVALID);
    ck_assert_int_eq(notification_email_recipient("c", "bad domain", to, sizeof(to)),
                     SAGA_ERR_INVALID);
    ck_assert_int_eq(notification_email_recipient("cust", "example.com", to, 8),
                     SAGA_ERR_TOO_LARGE);
}
END_TEST

START_TEST(test_email_no_injection)
{
    notification_msg m;
    size_t len = 0;
    char *msg;

    confirmed_msg(&m);
    /* ids come from events: header or body line breaks must not get through */
    strcpy(m.customer_id, "x\r\nBcc: evil@example.org\r\n.\r\n");
    strcpy(m.order_id, "o\nSubject: pwned");
    msg = notification_email_render(&m, "shop@example.com", "x@example.com", 0, &len);
    ck_assert_ptr_nonnull(msg);
    ck_assert(crlf_clean(msg, len, 998));
    ck_assert_ptr_null(strstr(msg, "\r\nBcc:"));
    ck_assert_ptr_null(strstr(msg, "\r\nSubject: pwned"));
    ck_assert_ptr_null(strstr(msg, "\r\n.\r\n"));
    ck_assert_ptr_nonnull(strstr(msg, "Hello x??Bcc: evil@example.org??.??,"));
    ck_assert_ptr_nonnull(strstr(msg, "Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n"));
    free(msg);
}
END_TEST

START_TEST(test_summary_limits)
{
    notification_msg m;
    char out[256], tiny[8];

    confirmed_msg(&m);
    m.amount = -1;
    notification_summary(&m, out, sizeof(out));
    ck_assert_str_eq(out, "Order 78bb66b0-ec72-4258-9317-144fec422b56 is confirmed.");
    notification_summary(&m, tiny, sizeof(tiny));
    ck_assert_str_eq(tiny, "Order 7");
    m.trigger = NOTIFY_TRIGGER_CANCELLED;
    strcpy(m.reason, "SOMETHING_NEW");
    notification_summary(&m, out, sizeof(out));
    ck_assert_str_eq(out,
                     "Order 78bb66b0-ec72-4258-9317-144fec422b56 was cancelled (SOMETHING_NEW).");
    notification_amount_format(-150, out, sizeof(out));
    ck_assert_str_eq(out, "-1.50");
    notification_amount_format(-9223372036854775807LL - 1, out, sizeof(out));
    ck_assert_str_eq(out, "-92233720368547758.08");
}
END_TEST

START_TEST(test_retry_limits)
{
    unsigned seed = 9;
    long delay = -7;
    ck_assert(!notification_retry_next(1, 1, 500, 30000, &seed, &delay));
    ck_assert_int_eq(delay, -7);
    /* far into the schedule the wait stays within [cap/2, cap] */
    ck_assert(notification_retry_next(60, 1000, 500, 30000, &seed, &delay));
    ck_assert_int_ge(delay, 15000);
    ck_assert_int_le(delay, 30000);
    ck_assert(notification_retry_next(0, 5, 500, 30000, &seed, &delay));
    ck_assert_int_le(delay, 500);
    ck_assert_int_eq(notification_lease_ms(-5), 10000);
}
END_TEST

START_TEST(test_error_clip)
{
    char out[8];
    notification_error_clip("a\r\nb\tc", out, sizeof(out));
    ck_assert_str_eq(out, "a  b c");
    notification_error_clip("abcdefghij", out, sizeof(out));
    ck_assert_str_eq(out, "abcdefg");
    /* "abcdef" + e-acute (2 bytes): the cut falls inside it, so it goes */
    notification_error_clip("abcdef\xc3\xa9xyz", out, sizeof(out));
    ck_assert_str_eq(out, "abcdef");
    /* a 3-byte sequence cut after its second byte */
    notification_error_clip("abcde\xe2\x82\xac", out, sizeof(out));
    ck_assert_str_eq(out, "abcde");
    notification_error_clip(NULL, out, sizeof(out));
    ck_assert_str_eq(out, "");
}
END_TEST

static Suite *notification_suite(void)
{
    Suite *s = suite_create("notification");
    TCase *core = tcase_create("core");
    tcase_add_test(core, test_names);
    tcase_add_test(core, test_channels_parse);
    tcase_add_test(core, test_channels_check);
    tcase_add_test(core, test_msg_from_event);
    tcase_add_test(core, test_orders_seen_created);
    tcase_add_test(core, test_payload_round_trip);
    tcase_add_test(core, test_summary);
    tcase_add_test(core, test_email);
    tcase_add_test(core, test_retry_schedule);
    suite_add_tcase(s, core);
    TCase *limits = tcase_create("limits");
    tcase_add_test(limits, test_channels_parse_bad);
    tcase_add_test(limits, test_msg_from_event_bad);
    tcase_add_test(limits, test_orders_seen_created_bad);
    tcase_add_test(limits, test_payload_parse_bad);
    tcase_add_test(limits, test_email_addresses);
    tcase_add_test(limits, test_email_no_injection);
    tcase_add_test(limits, test_summary_limits);
    tcase_add_test(limits, test_retry_limits);
    tcase_add_test(limits, test_error_clip);
    suite_add_tcase(s, limits);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(notification_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
