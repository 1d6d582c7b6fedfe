/* check_envelope.c - unit tests of the event envelope (envelope.c) and of ids.c.
 *
 * Every parse goes through parse_exact(), which copies the text into a buffer of exactly
 * its length with no NUL after it, so AddressSanitizer catches any read past `len`. */
#include <check.h>
#include <pthread.h>
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cjson/cJSON.h>

#include "saga/envelope.h"
#include "saga/err.h"

static cJSON *base; /* a valid envelope as a tree, rebuilt for each limits test */

static void limits_setup(void)
{
    static const char text[] =
        "{\"specversion\":\"1.0\",\"id\":\"6f1c2a4e-8a51-4c57-9d1e-2b7f0c3d4e5f\","
        "\"source\":\"/order-service\",\"type\":\"OrderCreated\","
        "\"time\":\"2026-11-22T10:00:00.123Z\",\"subject\":\"order-1\","
        "\"datacontenttype\":\"application/json\","
        "\"dataschema\":\"urn:saga:schema:OrderCreated:1\",\"correlationid\":\"order-1\","
        "\"causationid\":\"0b9a1d0c-3f6e-4d8e-8a7b-1c2d3e4f5a6b\",\"data\":{\"orderId\":\"order-"
        "1\"}}";

    base = cJSON_Parse(text);
    ck_assert_ptr_nonnull(base);
}

static void limits_teardown(void)
{
    cJSON_Delete(base);
    base = NULL;
}

/* Parses text from a heap copy that is not NUL-terminated. */
static int parse_exact(const char *text, size_t len, saga_event **ev, char *err, size_t errlen)
{
    char *buf = malloc(len ? len : 1);
    int rc;

    ck_assert_ptr_nonnull(buf);
    memcpy(buf, text, len);
    rc = saga_event_parse(buf, len, ev, err, errlen);
    free(buf);
    return rc;
}

/* Prints tree and expects parsing it to fail with exactly `want`. */
static void expect_rejected_tree(const cJSON *tree, const char *want)
{
    char err[256] = "";
    saga_event *ev = (saga_event *)1;
    char *text = cJSON_PrintUnformatted(tree);
    int rc;

    ck_assert_ptr_nonnull(text);
    rc = parse_exact(text, strlen(text), &ev, err, sizeof(err));
    ck_assert_msg(rc == SAGA_ERR_INVALID, "accepted %s", text);
    ck_assert_ptr_null(ev);
    ck_assert_str_eq(err, want);
    cJSON_free(text);
}

static void expect_rejected_text(const char *text, const char *want_prefix)
{
    char err[256] = "";
    saga_event *ev = (saga_event *)1;
    int rc = parse_exact(text, strlen(text), &ev, err, sizeof(err));

    ck_assert_msg(rc == SAGA_ERR_INVALID, "accepted %s", text);
    ck_assert_ptr_null(ev);
    ck_assert_msg(strncmp(err, want_prefix, strlen(want_prefix)) == 0, "%s: got \"%s\"", text, err);
}

/* ---- core ----------------------------------------------------------------------------- */

START_TEST(test_round_trip)
{
    cJSON *data =
        cJSON_Parse("{\"orderId\":\"order-1\",\"items\":[{\"sku\":\"A-1\",\"quantity\":2}],"
                    "\"note\":\"caf\xc3\xa9 \\\"quoted\\\"\",\"amount\":1999}");
    cJSON *expect = cJSON_Duplicate(data, 1);
    saga_event *ev, *back = NULL;
    char err[128] = "";
    char *text;

    ev = saga_event_new("OrderCreated", "/order-service", "order-1", "order-1",
                        "0b9a1d0c-3f6e-4d8e-8a7b-1c2d3e4f5a6b", data);
    ck_assert_ptr_nonnull(ev);
    ck_assert_ptr_null(ev->doc);
    ck_assert_str_eq(ev->dataschema, "urn:saga:schema:OrderCreated:1");
    text = saga_event_print(ev);
    ck_assert_ptr_nonnull(text);

    ck_assert_int_eq(parse_exact(text, strlen(text), &back, err, sizeof(err)), SAGA_OK);
    ck_assert_str_eq(back->id, ev->id);
    ck_assert_str_eq(back->source, "/order-service");
    ck_assert_str_eq(back->type, "OrderCreated");
    ck_assert_str_eq(back->time, ev->time);
    ck_assert_str_eq(back->subject, "order-1");
    ck_assert_str_eq(back->dataschema, "urn:saga:schema:OrderCreated:1");
    ck_assert_str_eq(back->correlationid, "order-1");
    ck_assert_str_eq(back->causationid, "0b9a1d0c-3f6e-4d8e-8a7b-1c2d3e4f5a6b");
    ck_assert(cJSON_Compare(back->data, expect, 1));
    ck_assert_ptr_nonnull(back->doc);
    ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(back->doc, "specversion")->valuestring,
                     "1.0");
    ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(back->doc, "datacontenttype")->valuestring,
                     "application/json");
    /* data is borrowed from doc */
    ck_assert_ptr_eq(back->data, cJSON_GetObjectItemCaseSensitive(back->doc, "data"));

    cJSON_free(text);
    cJSON_Delete(expect);
    saga_event_free(ev);
    saga_event_free(back);
}
END_TEST

START_TEST(test_new_optional_attributes)
{
    saga_event *ev =
        saga_event_new("OrderConfirmed", "/order-service", "order-2", NULL, NULL, NULL);
    saga_event *back = NULL;
    char err[128] = "";
    char *text;

    ck_assert_ptr_nonnull(ev);
    ck_assert(cJSON_IsObject(ev->data)); /* NULL data becomes {} */
    ck_assert_ptr_null(ev->correlationid);
    ck_assert_ptr_null(ev->causationid);
    text = saga_event_print(ev);
    ck_assert_ptr_nonnull(text);
    ck_assert_ptr_null(strstr(text, "causationid"));
    ck_assert_ptr_null(strstr(text, "correlationid"));
    ck_assert_int_eq(parse_exact(text, strlen(text), &back, err, sizeof(err)), SAGA_OK);
    ck_assert_ptr_null(back->causationid);
    ck_assert_ptr_null(back->correlationid);
    cJSON_free(text);
    saga_event_free(ev);
    saga_event_free(back);
}
END_TEST

START_TEST(test_new_null_arguments)
{
    /* data is taken over even on failure: ASan reports a leak otherwise */
    ck_assert_ptr_null(saga_event_new(NULL, "/s", "o", NULL, NULL, cJSON_CreateObject()));
    ck_assert_ptr_null(saga_event_new("T", NULL, "o", NULL, NULL, cJSON_CreateObject()));
    ck_assert_ptr_null(saga_event_new("T", "/s", NULL, NULL, NULL, cJSON_CreateObject()));
    saga_event_free(NULL);
    ck_assert_ptr_null(saga_event_print(NULL));
}
END_TEST

START_TEST(test_parse_not_nul_terminated)
{
    static const char body[] =
        "{\"specversion\":\"1.0\",\"id\":\"i\",\"source\":\"/s\",\"type\":\"T\","
        "\"time\":\"t\",\"subject\":\"o\",\"data\":{\"n\":12}}";
    char buf[sizeof(body) + 16];
    saga_event *ev = NULL;
    char err[128] = "";

    /* garbage right after len, as in a Kafka payload or an HTTP body */
    memcpy(buf, body, sizeof(body) - 1);
    memcpy(buf + sizeof(body) - 1, "3}garbage\"[{xx", 15);
    ck_assert_int_eq(saga_event_parse(buf, sizeof(body) - 1, &ev, err, sizeof(err)), SAGA_OK);
    ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(ev->data, "n")->valueint, 12);
    ck_assert_ptr_null(ev->dataschema);
    saga_event_free(ev);

    /* cut right after a number: the "}}" that follows in buf must not be read */
    ck_assert_int_eq(saga_event_parse(buf, sizeof(body) - 1 - 2, &ev, err, sizeof(err)),
                     SAGA_ERR_INVALID);
    ck_assert_ptr_null(ev);
}
END_TEST

START_TEST(test_parse_then_replace_data)
{
    static const char body[] =
        "{\"specversion\":\"1.0\",\"id\":\"i\",\"source\":\"/s\",\"type\":\"T\","
        "\"time\":\"t\",\"subject\":\"o\",\"data\":{\"n\":1}}";
    saga_event *ev = NULL;
    char err[128] = "";

    /* a caller that swaps the data: free must release both trees exactly once */
    ck_assert_int_eq(parse_exact(body, strlen(body), &ev, err, sizeof(err)), SAGA_OK);
    ev->data = cJSON_CreateObject();
    saga_event_free(ev);

    /* a caller that detaches the data to keep it */
    ck_assert_int_eq(parse_exact(body, strlen(body), &ev, err, sizeof(err)), SAGA_OK);
    cJSON *kept = cJSON_DetachItemViaPointer(ev->doc, ev->data);
    ev->data = NULL;
    saga_event_free(ev);
    ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(kept, "n")->valueint, 1);
    cJSON_Delete(kept);
}
END_TEST

START_TEST(test_extension_attributes_allowed)
{
    char err[128] = "";
    saga_event *ev = NULL;
    char *text;

    cJSON_AddStringToObject(base, "traceparent",
                            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    text = cJSON_PrintUnformatted(base);
    ck_assert_int_eq(parse_exact(text, strlen(text), &ev, err, sizeof(err)), SAGA_OK);
    ck_assert_ptr_nonnull(cJSON_GetObjectItemCaseSensitive(ev->doc, "traceparent"));
    cJSON_free(text);
    saga_event_free(ev);
}
END_TEST

START_TEST(test_uuid_v4)
{
    char a[SAGA_UUID_LEN + 1], b[SAGA_UUID_LEN + 1];
    regex_t re;

    ck_assert_int_eq(regcomp(&re,
                             "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-"
                             "[0-9a-f]{12}$",
                             REG_EXTENDED | REG_NOSUB),
                     0);
    for (int i = 0; i < 256; i++) {
        saga_uuid_v4(a);
        ck_assert_uint_eq(strlen(a), SAGA_UUID_LEN);
        ck_assert_msg(regexec(&re, a, 0, NULL, 0) == 0, "not a v4 uuid: %s", a);
        ck_assert_int_eq(a[14], '4');
        ck_assert(strchr("89ab", a[19]) != NULL);
    }
    saga_uuid_v4(b);
    ck_assert_str_ne(a, b);
    regfree(&re);
}
END_TEST

/* The 48-bit millisecond time at the front of a v7 text id. */
static uint64_t uuid_v7_ms(const char *id)
{
    char hex[13];

    memcpy(hex, id, 8);
    memcpy(hex + 8, id + 9, 4);
    hex[12] = '\0';
    return strtoull(hex, NULL, 16);
}

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

START_TEST(test_uuid_v7_layout)
{
    char a[SAGA_UUID_LEN + 1];
    regex_t re;
    uint64_t before = now_ms(), after;

    /* RFC 9562: version nibble 7, variant bits 10, lowercase 8-4-4-4-12 */
    ck_assert_int_eq(regcomp(&re,
                             "^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-"
                             "[0-9a-f]{12}$",
                             REG_EXTENDED | REG_NOSUB),
                     0);
    for (int i = 0; i < 1000; i++) {
        saga_uuid_v7(a);
        ck_assert_uint_eq(strlen(a), SAGA_UUID_LEN);
        ck_assert_msg(regexec(&re, a, 0, NULL, 0) == 0, "not a v7 uuid: %s", a);
    }
    after = now_ms();
    /* the embedded time is the clock's (ahead of it only after > 2048 ids in one ms,
     * which 1000 ids cannot reach) */
    ck_assert_uint_ge(uuid_v7_ms(a), before);
    ck_assert_uint_le(uuid_v7_ms(a), after);
    regfree(&re);
}
END_TEST

START_TEST(test_uuid_v7_monotonic)
{
    static char ids[20000][SAGA_UUID_LEN + 1];
    int same_ms = 0;

    /* 20,000 ids in a row: many share a millisecond, and each is greater than the one
     * before, as text (what the columns compare) */
    for (int i = 0; i < 20000; i++)
        saga_uuid_v7(ids[i]);
    for (int i = 1; i < 20000; i++) {
        ck_assert_msg(strcmp(ids[i - 1], ids[i]) < 0, "%s then %s", ids[i - 1], ids[i]);
        same_ms += uuid_v7_ms(ids[i - 1]) == uuid_v7_ms(ids[i]);
    }
    ck_assert_int_gt(same_ms, 0);
}
END_TEST

START_TEST(test_uuid_v7_counter)
{
    uint64_t ms = 1765000000000ULL, last, next;

    /* a new millisecond: the time, and a counter below 2048 from the seed */
    next = saga_uuid_v7_next(0, ms, 0xffff);
    ck_assert_uint_eq(next >> 12, ms);
    ck_assert_uint_eq(next & 0xfff, 0x7ff);
    /* the same millisecond: +1, whatever the seed */
    last = next;
    next = saga_uuid_v7_next(last, ms, 0);
    ck_assert_uint_eq(next, last + 1);
    /* the clock stepped back: still +1, never a smaller id */
    ck_assert_uint_eq(saga_uuid_v7_next(next, ms - 5000, 0), next + 1);
    /* a full counter spills into the next millisecond */
    last = ms << 12 | 0xfff;
    next = saga_uuid_v7_next(last, ms, 7);
    ck_assert_uint_eq(next >> 12, ms + 1);
    ck_assert_uint_eq(next & 0xfff, 0);
    /* and the clock catching up with it again gives a greater value */
    ck_assert_uint_gt(saga_uuid_v7_next(next, ms + 1, 3), next);
    ck_assert_uint_eq(saga_uuid_v7_next(next, ms + 2, 3), (ms + 2) << 12 | 3);
}
END_TEST

#define V7_THREADS 4
#define V7_PER_THREAD 5000

static char v7_ids[V7_THREADS * V7_PER_THREAD][SAGA_UUID_LEN + 1];

static void *uuid_v7_thread(void *arg)
{
    char(*mine)[SAGA_UUID_LEN + 1] = arg;

    for (int i = 0; i < V7_PER_THREAD; i++)
        saga_uuid_v7(mine[i]);
    return NULL;
}

static int uuid_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

START_TEST(test_uuid_v7_threads)
{
    pthread_t t[V7_THREADS];
    char first[SAGA_UUID_LEN + 1], last[SAGA_UUID_LEN + 1];

    saga_uuid_v7(first);
    for (int k = 0; k < V7_THREADS; k++)
        ck_assert_int_eq(
            pthread_create(&t[k], NULL, uuid_v7_thread, v7_ids[k * V7_PER_THREAD]), 0);
    for (int k = 0; k < V7_THREADS; k++)
        ck_assert_int_eq(pthread_join(t[k], NULL), 0);
    saga_uuid_v7(last);
    /* each thread's ids increase; all of them lie between an id made before the threads
     * started and one made after they ended */
    for (int k = 0; k < V7_THREADS; k++)
        for (int i = 1; i < V7_PER_THREAD; i++)
            ck_assert(strcmp(v7_ids[k * V7_PER_THREAD + i - 1], v7_ids[k * V7_PER_THREAD + i]) <
                      0);
    for (int i = 0; i < V7_THREADS * V7_PER_THREAD; i++) {
        ck_assert(strcmp(first, v7_ids[i]) < 0);
        ck_assert(strcmp(v7_ids[i], last) < 0);
    }
    /* no two are equal, across threads */
    qsort(v7_ids, V7_THREADS * V7_PER_THREAD, sizeof(v7_ids[0]), uuid_cmp);
    for (int i = 1; i < V7_THREADS * V7_PER_THREAD; i++)
        ck_assert_str_ne(v7_ids[i - 1], v7_ids[i]);
}
END_TEST

START_TEST(test_new_event_id_is_v7)
{
    saga_event *ev = saga_event_new("OrderConfirmed", "/order-service", "o-1", NULL, NULL, NULL);
    saga_event *ev2 = saga_event_new("OrderConfirmed", "/order-service", "o-1", NULL, NULL, NULL);

    ck_assert_ptr_nonnull(ev);
    ck_assert_ptr_nonnull(ev2);
    ck_assert_int_eq(ev->id[14], '7');
    ck_assert(strcmp(ev->id, ev2->id) < 0);
    saga_event_free(ev);
    saga_event_free(ev2);
}
END_TEST

START_TEST(test_time_rfc3339)
{
    char t[SAGA_TIME_LEN + 1];
    regex_t re;

    ck_assert_int_eq(regcomp(&re,
                             "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T"
                             "([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]\\.[0-9]{3}Z$",
                             REG_EXTENDED | REG_NOSUB),
                     0);
    saga_time_now(t);
    ck_assert_uint_eq(strlen(t), SAGA_TIME_LEN);
    ck_assert_msg(regexec(&re, t, 0, NULL, 0) == 0, "not rfc 3339: %s", t);
    saga_time_format_ms(0, t);
    ck_assert_str_eq(t, "1970-01-01T00:00:00.000Z");
    saga_time_format_ms(1795860000123LL, t);
    ck_assert_str_eq(t, "2026-11-28T10:00:00.123Z");
    ck_assert(regexec(&re, t, 0, NULL, 0) == 0);
    regfree(&re);
}
END_TEST

/* ---- limits --------------------------------------------------------------------------- */

START_TEST(test_reject_invalid_json)
{
    expect_rejected_text("{\"specversion\":", "invalid json at byte");
    expect_rejected_text("{\"a\":1,}", "invalid json at byte");
    expect_rejected_text("", "invalid json at byte 0");
    expect_rejected_text("   ", "invalid json at byte");
    expect_rejected_text("{\"a\":1} {\"b\":2}", "invalid json at byte 8: data after");
    expect_rejected_text("{\"a\":\"unterminated", "invalid json at byte");
    expect_rejected_text("nul", "invalid json at byte");
}
END_TEST

START_TEST(test_reject_non_object)
{
    expect_rejected_text("[1,2]", "event must be a json object");
    expect_rejected_text("\"event\"", "event must be a json object");
    expect_rejected_text("42", "event must be a json object");
    expect_rejected_text("null", "event must be a json object");
}
END_TEST

START_TEST(test_reject_missing_attribute)
{
    static const char *const names[] = {"specversion", "id",      "source", "type",
                                        "time",        "subject", "data"};
    char want[64];

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        cJSON *tree = cJSON_Duplicate(base, 1);
        cJSON_DeleteItemFromObjectCaseSensitive(tree, names[i]);
        snprintf(want, sizeof(want), "missing attribute: %s", names[i]);
        expect_rejected_tree(tree, want);
        cJSON_Delete(tree);
    }
}
END_TEST

START_TEST(test_optional_attributes_absent)
{
    static const char *const names[] = {"dataschema", "correlationid", "causationid",
                                        "datacontenttype"};
    saga_event *ev = NULL;
    char err[128] = "";

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        cJSON_DeleteItemFromObjectCaseSensitive(base, names[i]);
    char *text = cJSON_PrintUnformatted(base);
    ck_assert_int_eq(parse_exact(text, strlen(text), &ev, err, sizeof(err)), SAGA_OK);
    ck_assert_ptr_null(ev->dataschema);
    ck_assert_ptr_null(ev->correlationid);
    ck_assert_ptr_null(ev->causationid);
    cJSON_free(text);
    saga_event_free(ev);
}
END_TEST

START_TEST(test_reject_wrong_specversion)
{
    cJSON_ReplaceItemInObjectCaseSensitive(base, "specversion", cJSON_CreateString("0.3"));
    expect_rejected_tree(base, "specversion must be 1.0");
    cJSON_ReplaceItemInObjectCaseSensitive(base, "specversion", cJSON_CreateNumber(1.0));
    expect_rejected_tree(base, "specversion must be 1.0");
    cJSON_ReplaceItemInObjectCaseSensitive(base, "specversion", cJSON_CreateString("1.0 "));
    expect_rejected_tree(base, "specversion must be 1.0");
}
END_TEST

START_TEST(test_reject_non_string_attribute)
{
    static const char *const names[] = {"id",      "source",     "type",          "time",
                                        "subject", "dataschema", "correlationid", "causationid"};
    char want[64];

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        cJSON *tree = cJSON_Duplicate(base, 1);
        cJSON_ReplaceItemInObjectCaseSensitive(tree, names[i], cJSON_CreateNumber(7));
        snprintf(want, sizeof(want), "attribute %s must be a string", names[i]);
        expect_rejected_tree(tree, want);
        cJSON_ReplaceItemInObjectCaseSensitive(tree, names[i], cJSON_CreateNull());
        expect_rejected_tree(tree, want);
        cJSON_Delete(tree);
    }
    cJSON_ReplaceItemInObjectCaseSensitive(base, "subject", cJSON_CreateString(""));
    expect_rejected_tree(base, "attribute subject must not be empty");
}
END_TEST

START_TEST(test_reject_data_not_object)
{
    cJSON_ReplaceItemInObjectCaseSensitive(base, "data", cJSON_CreateArray());
    expect_rejected_tree(base, "data must be an object");
    cJSON_ReplaceItemInObjectCaseSensitive(base, "data", cJSON_CreateString("{}"));
    expect_rejected_tree(base, "data must be an object");
    cJSON_ReplaceItemInObjectCaseSensitive(base, "data", cJSON_CreateNull());
    expect_rejected_tree(base, "data must be an object");
}
END_TEST

START_TEST(test_reject_content_type)
{
    cJSON_ReplaceItemInObjectCaseSensitive(base, "datacontenttype",
                                           cJSON_CreateString("application/xml"));
    expect_rejected_tree(base, "datacontenttype must be application/json");
}
END_TEST

START_TEST(test_reject_duplicate_key)
{
    cJSON_AddStringToObject(base, "type", "PaymentCompleted");
    expect_rejected_tree(base, "duplicate key: type");
    cJSON_DeleteItemFromObjectCaseSensitive(base, "type"); /* removes the first */
    cJSON_AddNumberToObject(cJSON_GetObjectItemCaseSensitive(base, "data"), "orderId", 1);
    expect_rejected_tree(base, "duplicate key: orderId");
}
END_TEST

START_TEST(test_reject_nul_in_string)
{
    /* cJSON would read "alice\u0000evil" as alice: the event is refused whole, as
     * invalid JSON (its dead letter's reason), naming where */
    cJSON *data = cJSON_GetObjectItemCaseSensitive(base, "data");
    cJSON_AddStringToObject(data, "customerId", "alice");
    char *text = cJSON_PrintUnformatted(base);
    ck_assert_ptr_nonnull(text);
    char *at = strstr(text, "\"alice\"");
    ck_assert_ptr_nonnull(at);
    char nul[600];
    snprintf(nul, sizeof(nul), "%.*s\"alice\\u0000evil\"%s", (int)(at - text), text, at + 7);
    expect_rejected_text(nul, "invalid json: a NUL character (\\u0000) in the string at "
                              "data.customerId");
    /* a raw NUL byte in a string is refused too (parse_exact copies len bytes) */
    char raw[600];
    size_t n = (size_t)snprintf(raw, sizeof(raw), "%.*s\"alice?evil\"%s", (int)(at - text), text,
                                at + 7);
    raw[(at - text) + 6] = '\0';
    saga_event *ev = (saga_event *)1;
    char err[256] = "";
    ck_assert_int_eq(parse_exact(raw, n, &ev, err, sizeof(err)), SAGA_ERR_INVALID);
    ck_assert_ptr_null(ev);
    ck_assert_msg(strncmp(err, "invalid json", 12) == 0, "got %s", err);
    cJSON_free(text);
}
END_TEST

START_TEST(test_small_error_buffer)
{
    char err[8];
    saga_event *ev = NULL;

    memset(err, 'x', sizeof(err));
    ck_assert_int_eq(parse_exact("[]", 2, &ev, err, sizeof(err)), SAGA_ERR_INVALID);
    ck_assert_str_eq(err, "event m");
    ck_assert_int_eq(parse_exact("[]", 2, &ev, NULL, 0), SAGA_ERR_INVALID);
}
END_TEST

START_TEST(test_deep_nesting)
{
    size_t depth = 5000, i;
    char *text = malloc(2 * depth + 16);
    size_t n = 0;

    ck_assert_ptr_nonnull(text);
    n += (size_t)snprintf(text, 16, "{\"data\":");
    for (i = 0; i < depth; i++)
        text[n++] = '[';
    for (i = 0; i < depth; i++)
        text[n++] = ']';
    text[n++] = '}';
    text[n] = '\0';
    expect_rejected_text(text, "invalid json at byte");
    free(text);
}
END_TEST

static Suite *envelope_suite(void)
{
    Suite *s = suite_create("envelope");
    TCase *tc_core = tcase_create("core");
    TCase *tc_limits = tcase_create("limits");

    tcase_add_checked_fixture(tc_core, limits_setup, limits_teardown);
    tcase_add_test(tc_core, test_round_trip);
    tcase_add_test(tc_core, test_new_optional_attributes);
    tcase_add_test(tc_core, test_new_null_arguments);
    tcase_add_test(tc_core, test_parse_not_nul_terminated);
    tcase_add_test(tc_core, test_parse_then_replace_data);
    tcase_add_test(tc_core, test_extension_attributes_allowed);
    tcase_add_test(tc_core, test_uuid_v4);
    tcase_add_test(tc_core, test_uuid_v7_layout);
    tcase_add_test(tc_core, test_uuid_v7_monotonic);
    tcase_add_test(tc_core, test_uuid_v7_counter);
    tcase_add_test(tc_core, test_uuid_v7_threads);
    tcase_add_test(tc_core, test_new_event_id_is_v7);
    tcase_add_test(tc_core, test_time_rfc3339);
    suite_add_tcase(s, tc_core);

    tcase_add_checked_fixture(tc_limits, limits_setup, limits_teardown);
    tcase_add_test(tc_limits, test_reject_invalid_json);
    tcase_add_test(tc_limits, test_reject_non_object);
    tcase_add_test(tc_limits, test_reject_missing_attribute);
    tcase_add_test(tc_limits, test_optional_attributes_absent);
    tcase_add_test(tc_limits, test_reject_wrong_specversion);
    tcase_add_test(tc_limits, test_reject_non_string_attribute);
    tcase_add_test(tc_limits, test_reject_data_not_object);
    tcase_add_test(tc_limits, test_reject_content_type);
    tcase_add_test(tc_limits, test_reject_duplicate_key);
    tcase_add_test(tc_limits, test_reject_nul_in_string);
    tcase_add_test(tc_limits, test_small_error_buffer);
    tcase_add_test(tc_limits, test_deep_nesting);
    suite_add_tcase(s, tc_limits);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(envelope_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
