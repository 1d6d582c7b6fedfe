/* check_schema.c - unit tests of the JSON Schema validator (schema.c) and of schemas/.
 *
 * Small schemas are written by the tests into a temporary directory (one per test, made
 * and removed by the checked fixture). The real schemas are read from
 * $SAGA_SOURCE_DIR/schemas. `check_schema --dump-examples DIR` writes the example events
 * used here to DIR/<type>.json, so an independent validator can check them too. */
#include <check.h>
#include <dirent.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cjson/cJSON.h>

#include "saga/envelope.h"
#include "saga/err.h"
#include "saga/schema.h"

static char tmpdir[64];

static void tmp_setup(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/check_schema.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void tmp_teardown(void)
{
    DIR *d = opendir(tmpdir);
    struct dirent *de;
    char path[512];

    if (!d)
        return;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", tmpdir, de->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(tmpdir);
}

static void write_file(const char *name, const char *text)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(text, 1, strlen(text), f), strlen(text));
    ck_assert_int_eq(fclose(f), 0);
}

static void remove_file(const char *name)
{
    char path[512];

    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    unlink(path);
}

static saga_schema_registry *load_ok(const char *dir)
{
    saga_schema_registry *reg = NULL;
    char err[256] = "";

    ck_assert_msg(saga_schema_registry_load(dir, &reg, err, sizeof(err)) == SAGA_OK, "load: %s",
                  err);
    ck_assert_ptr_nonnull(reg);
    return reg;
}

/* Expects loading tmpdir to fail with exactly `want`. */
static void expect_load_error(const char *want)
{
    saga_schema_registry *reg = (saga_schema_registry *)1;
    char err[256] = "";

    ck_assert_int_eq(saga_schema_registry_load(tmpdir, &reg, err, sizeof(err)), SAGA_ERR_INVALID);
    ck_assert_ptr_null(reg);
    ck_assert_str_eq(err, want);
}

/* Writes schema_body (an object without "$id") as t.json with $id "urn:t". */
static void write_test_schema(const char *schema_body)
{
    size_t len = strlen(schema_body) + 32;
    char *text = malloc(len);

    ck_assert_ptr_nonnull(text);
    ck_assert_int_eq(schema_body[0], '{');
    snprintf(text, len, "{\"$id\":\"urn:t\",%s", schema_body + 1);
    write_file("t.json", text);
    free(text);
}

/* Validates the JSON text `instance` against schema id; returns rc, message in err. */
static int validate_text(const saga_schema_registry *reg, const char *id, const char *instance,
                         char *err, size_t errlen)
{
    cJSON *doc = cJSON_Parse(instance);
    int rc;

    ck_assert_msg(doc != NULL, "bad test json: %s", instance);
    err[0] = '\0';
    rc = saga_schema_validate(reg, id, doc, err, errlen);
    cJSON_Delete(doc);
    return rc;
}

/* ---- one good and one bad instance per keyword ------------------------------------------ */

static const struct keyword_case {
    const char *schema; /* without $id */
    const char *good;
    const char *bad;
    const char *error;
} keyword_cases[] = {
    {"{\"type\":\"string\"}", "\"a\"", "5", "/: type: expected string, got integer"},
    {"{\"type\":[\"string\",\"null\"]}", "null", "1.5",
     "/: type: expected string or null, got number"},
    {"{\"type\":\"integer\"}", "1.0", "1.5", "/: type: expected integer, got number"},
    {"{\"type\":\"object\"}", "{}", "[]", "/: type: expected object, got array"},
    {"{\"type\":\"boolean\"}", "false", "0", "/: type: expected boolean, got integer"},
    {"{\"properties\":{\"a\":{\"type\":\"string\"}}}", "{\"a\":\"x\",\"b\":1}", "{\"a\":1}",
     "/a: type: expected string, got integer"},
    {"{\"required\":[\"a\",\"b\"]}", "{\"a\":1,\"b\":null}", "{\"a\":1}",
     "/: required: missing property b"},
    {"{\"properties\":{\"a\":true},\"additionalProperties\":false}", "{\"a\":1}",
     "{\"a\":1,\"b\":2}", "/: additionalProperties: property b is not allowed"},
    {"{\"properties\":{\"a\":true},\"additionalProperties\":{\"type\":\"integer\"}}",
     "{\"a\":\"s\",\"x\":1}", "{\"a\":1,\"x\":\"y\"}", "/x: type: expected integer, got string"},
    {"{\"items\":{\"type\":\"integer\"}}", "[1,2]", "[1,\"a\"]",
     "/1: type: expected integer, got string"},
    {"{\"minItems\":1}", "[1]", "[]", "/: minItems: 0 items, fewer than 1"},
    {"{\"maxItems\":1}", "[1]", "[1,2]", "/: maxItems: 2 items, more than 1"},
    {"{\"uniqueItems\":true}", "[1,\"1\",{\"a\":1},{\"a\":2},[1],true,false]",
     "[{\"a\":1,\"b\":[2]},{\"b\":[2],\"a\":1.0}]", "/: uniqueItems: items 0 and 1 are equal"},
    {"{\"enum\":[\"a\",1,null]}", "1.0", "\"b\"", "/: enum: not one of [\"a\",1,null]"},
    {"{\"const\":{\"k\":[1,2]}}", "{\"k\":[1,2]}", "{\"k\":[2,1]}",
     "/: const: expected {\"k\":[1,2]}"},
    {"{\"const\":false}", "false", "null", "/: const: expected false"},
    {"{\"minLength\":2}", "\"\xc3\xa9\xc3\xa9\"", "\"\xc3\xa9\"",
     "/: minLength: length 1 is less than 2"},
    {"{\"maxLength\":2}", "\"\xc3\xa9\xc3\xa9\"", "\"abc\"",
     "/: maxLength: length 3 is greater than 2"},
    {"{\"pattern\":\"^[A-Z]{3}$\"}", "\"EUR\"", "\"eur\"", "/: pattern: does not match ^[A-Z]{3}$"},
    {"{\"pattern\":\"b+\"}", "\"abbc\"", "\"ac\"", "/: pattern: does not match b+"},
    {"{\"format\":\"uuid\"}", "\"123e4567-E89B-42d3-a456-426614174000\"",
     "\"123e4567e89b42d3a456426614174000\"", "/: format: not a uuid"},
    /* the services' ids are version 7 (RFC 9562) */
    {"{\"format\":\"uuid\"}", "\"019af0c2-7b1e-7a3c-9d4e-5f60718293a4\"",
     "\"019af0c2-7b1e-7a3c-9d4e-5f60718293a\"", "/: format: not a uuid"},
    {"{\"format\":\"date-time\"}", "\"2024-02-29T23:59:60.5+05:30\"", "\"2023-02-29T10:00:00Z\"",
     "/: format: not an rfc 3339 date-time"},
    {"{\"minimum\":1}", "1", "0", "/: minimum: 0 is less than 1"},
    {"{\"maximum\":1000}", "1000", "1001", "/: maximum: 1001 is greater than 1000"},
    {"{\"exclusiveMinimum\":0}", "0.5", "0", "/: exclusiveMinimum: 0 is not greater than 0"},
    {"{\"exclusiveMaximum\":1.5}", "1", "1.5", "/: exclusiveMaximum: 1.5 is not less than 1.5"},
    {"{\"minimum\":0.1}", "0.1", "-2.5e-7", "/: minimum: -2.5e-07 is less than 0.1"},
    {"{\"allOf\":[{\"type\":\"integer\"},{\"minimum\":2}]}", "3", "1",
     "/: minimum: 1 is less than 2"},
    {"{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"integer\"}]}", "1", "1.5",
     "/: anyOf: matches none of 2 subschemas (first: /: type: expected string, got number)"},
    {"{\"$defs\":{\"pos\":{\"minimum\":1}},\"properties\":{\"q\":{\"$ref\":\"#/$defs/pos\"}}}",
     "{\"q\":1}", "{\"q\":0}", "/q: minimum: 0 is less than 1"},
    {"{\"$defs\":{\"pos\":{\"minimum\":1}},\"properties\":{\"q\":{\"$ref\":\"urn:t#/$defs/pos\"}}}",
     "{\"q\":1}", "{\"q\":0}", "/q: minimum: 0 is less than 1"},
    {"{\"properties\":{\"x\":false}}", "{\"y\":1}", "{\"x\":1}",
     "/x: false schema: no value is allowed"},
    {"{\"properties\":{\"a/b~c\":{\"type\":\"string\"}}}", "{\"a/b~c\":\"s\"}", "{\"a/b~c\":1}",
     "/a~1b~0c: type: expected string, got integer"},
    {"{\"properties\":{\"data\":{\"properties\":{\"items\":{\"items\":{\"properties\":"
     "{\"quantity\":{\"minimum\":1}}}}}}}}",
     "{\"data\":{\"items\":[{\"quantity\":1}]}}",
     "{\"data\":{\"items\":[{\"quantity\":1},{\"quantity\":0}]}}",
     "/data/items/1/quantity: minimum: 0 is less than 1"},
    {"{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\",\"title\":\"t\","
     "\"description\":\"d\",\"$comment\":\"c\",\"examples\":[{\"zz\":1}],\"default\":{},"
     "\"type\":\"object\"}",
     "{}", "[]", "/: type: expected object, got array"},
};

START_TEST(test_keyword)
{
    const struct keyword_case *kc = &keyword_cases[_i];
    saga_schema_registry *reg;
    char err[256];

    write_test_schema(kc->schema);
    reg = load_ok(tmpdir);
    ck_assert_msg(validate_text(reg, "urn:t", kc->good, err, sizeof(err)) == SAGA_OK,
                  "%s rejected %s: %s", kc->schema, kc->good, err);
    ck_assert_msg(validate_text(reg, "urn:t", kc->bad, err, sizeof(err)) == SAGA_ERR_INVALID,
                  "%s accepted %s", kc->schema, kc->bad);
    ck_assert_str_eq(err, kc->error);
    saga_schema_registry_free(reg);
}
END_TEST

START_TEST(test_date_time_formats)
{
    static const char *const good[] = {
        "2026-11-22T10:00:00Z",           "2026-11-22T10:00:00.123Z",  "2026-11-22t10:00:00z",
        "2026-11-22T10:00:00+01:00",      "2026-11-22T10:00:00-23:59", "2000-02-29T00:00:00Z",
        "2026-12-31T23:59:59.123456789Z",
    };
    static const char *const bad[] = {
        "2026-11-22",
        "2026-11-22T10:00:00",
        "2026-11-22 10:00:00Z",
        "2026-13-01T00:00:00Z",
        "2026-04-31T00:00:00Z",
        "1900-02-29T00:00:00Z",
        "2026-11-22T24:00:00Z",
        "2026-11-22T10:60:00Z",
        "2026-11-22T10:00:00.Z",
        "2026-11-22T10:00:00+0100",
        "2026-11-22T10:00:00Z ",
        "26-11-22T10:00:00Z",
        "2026-11-22T10:00:00+24:00",
    };
    saga_schema_registry *reg;
    char err[256], inst[64];

    write_test_schema("{\"format\":\"date-time\"}");
    reg = load_ok(tmpdir);
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        snprintf(inst, sizeof(inst), "\"%s\"", good[i]);
        ck_assert_msg(validate_text(reg, "urn:t", inst, err, sizeof(err)) == SAGA_OK, "rejected %s",
                      good[i]);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(inst, sizeof(inst), "\"%s\"", bad[i]);
        ck_assert_msg(validate_text(reg, "urn:t", inst, err, sizeof(err)) == SAGA_ERR_INVALID,
                      "accepted %s", bad[i]);
    }
    saga_schema_registry_free(reg);
}
END_TEST

START_TEST(test_ref_across_files)
{
    saga_schema_registry *reg;
    char err[256];

    /* "#/$defs/sku" inside a.json means a.json's sku even when reached from b.json */
    write_file("a.json", "{\"$id\":\"urn:a\",\"$defs\":{\"sku\":{\"type\":\"string\","
                         "\"minLength\":2}},\"type\":\"object\",\"required\":[\"k\"],"
                         "\"properties\":{\"k\":{\"$ref\":\"#/$defs/sku\"}}}");
    write_file("b.json", "{\"$id\":\"urn:b\",\"$defs\":{\"sku\":false},\"properties\":{"
                         "\"x\":{\"$ref\":\"urn:a#/$defs/sku\"},\"y\":{\"$ref\":\"urn:a\"}}}");
    reg = load_ok(tmpdir);
    ck_assert_int_eq(
        validate_text(reg, "urn:b", "{\"x\":\"ab\",\"y\":{\"k\":\"cd\"}}", err, sizeof(err)),
        SAGA_OK);
    ck_assert_int_eq(validate_text(reg, "urn:b", "{\"x\":\"a\"}", err, sizeof(err)),
                     SAGA_ERR_INVALID);
    ck_assert_str_eq(err, "/x: minLength: length 1 is less than 2");
    ck_assert_int_eq(validate_text(reg, "urn:b", "{\"y\":{}}", err, sizeof(err)), SAGA_ERR_INVALID);
    ck_assert_str_eq(err, "/y: required: missing property k");
    ck_assert_int_eq(validate_text(reg, "urn:b", "{\"y\":{\"k\":\"c\"}}", err, sizeof(err)),
                     SAGA_ERR_INVALID);
    ck_assert_str_eq(err, "/y/k: minLength: length 1 is less than 2");
    /* a schema id with a fragment can be validated against directly */
    ck_assert_int_eq(validate_text(reg, "urn:a#/$defs/sku", "\"ab\"", err, sizeof(err)), SAGA_OK);
    ck_assert_int_eq(validate_text(reg, "urn:a#/$defs/sku", "7", err, sizeof(err)),
                     SAGA_ERR_INVALID);
    ck_assert_str_eq(err, "/: type: expected string, got integer");
    ck_assert_int_eq(validate_text(reg, "urn:x", "{}", err, sizeof(err)), SAGA_ERR_NOT_FOUND);
    ck_assert_str_eq(err, "/: $ref: unknown schema urn:x");
    ck_assert_int_eq(validate_text(reg, "urn:a#/$defs/nope", "{}", err, sizeof(err)),
                     SAGA_ERR_NOT_FOUND);
    saga_schema_registry_free(reg);
}
END_TEST

/* Validation reads each schema's keywords as the load found them (schema.c, "Compile"):
 * what the load did not walk as a schema, a repeated keyword and types named deep in
 * allOf must still mean what the document says. */
START_TEST(test_compiled_keywords)
{
    saga_schema_registry *reg;
    char err[256];

    /* "examples" is an annotation, so its item is a schema only through the $ref */
    write_file("a.json", "{\"$id\":\"urn:a\",\"examples\":[{\"type\":\"string\","
                         "\"maxLength\":2}],\"properties\":{\"e\":{\"$ref\":\"#/examples/0\"},"
                         "\"m\":{\"minimum\":1,\"minimum\":5}}}");
    write_file("b.json", "{\"$id\":\"urn:b\",\"allOf\":[{\"allOf\":[{\"properties\":{"
                         "\"type\":{\"const\":\"Deep\"}}}]}],\"properties\":{\"type\":{"
                         "\"const\":\"Shallow\"}}}");
    reg = load_ok(tmpdir);
    ck_assert_int_eq(validate_text(reg, "urn:a", "{\"e\":\"ab\"}", err, sizeof(err)), SAGA_OK);
    ck_assert_int_eq(validate_text(reg, "urn:a", "{\"e\":\"abc\"}", err, sizeof(err)),
                     SAGA_ERR_INVALID);
    ck_assert_str_eq(err, "/e: maxLength: length 3 is greater than 2");
    ck_assert_int_eq(validate_text(reg, "urn:a", "{\"e\":7}", err, sizeof(err)), SAGA_ERR_INVALID);
    ck_assert_str_eq(err, "/e: type: expected string, got integer");
    /* the first of a repeated keyword counts, as in cJSON's look-up */
    ck_assert_int_eq(validate_text(reg, "urn:a", "{\"m\":2}", err, sizeof(err)), SAGA_OK);
    ck_assert_int_eq(validate_text(reg, "urn:a", "{\"m\":0}", err, sizeof(err)), SAGA_ERR_INVALID);
    ck_assert_str_eq(err, "/m: minimum: 0 is less than 1");
    ck_assert(saga_schema_type_known(reg, "Deep"));
    ck_assert(saga_schema_type_known(reg, "Shallow"));
    ck_assert(!saga_schema_type_known(reg, "Dee"));
    saga_schema_registry_free(reg);
}
END_TEST

START_TEST(test_other_files_ignored)
{
    saga_schema_registry *reg;

    write_test_schema("{\"type\":\"object\"}");
    write_file("README.md", "not json");
    write_file(".hidden.json", "not json either");
    write_file("x.json.bak", "{");
    reg = load_ok(tmpdir);
    saga_schema_registry_free(reg);
}
END_TEST

/* ---- load errors and edge cases ------------------------------------------------------- */

START_TEST(test_unknown_keyword_rejected)
{
    write_test_schema("{\"properties\":{\"a\":{\"patternProperties\":{}}}}");
    expect_load_error("t.json: /properties/a: unsupported keyword patternProperties");
    write_test_schema("{\"allOf\":[{\"type\":\"string\"},{\"oneOf\":[]}]}");
    expect_load_error("t.json: /allOf/1: unsupported keyword oneOf");
    write_test_schema("{\"$defs\":{\"x\":{\"if\":true}}}");
    expect_load_error("t.json: /$defs/x: unsupported keyword if");
    write_test_schema("{\"minimum\":1,\"multipleOf\":2}");
    expect_load_error("t.json: /: unsupported keyword multipleOf");
}
END_TEST

START_TEST(test_bad_keyword_values_rejected)
{
    static const struct {
        const char *schema;
        const char *error;
    } cases[] = {
        {"{\"type\":\"int\"}", "t.json: /: type must be a type name or an array of them"},
        {"{\"type\":[]}", "t.json: /: type must be a type name or an array of them"},
        {"{\"required\":[1]}", "t.json: /: required must be an array of strings"},
        {"{\"minLength\":-1}", "t.json: /: minLength must be a non-negative integer"},
        {"{\"maxItems\":1.5}", "t.json: /: maxItems must be a non-negative integer"},
        {"{\"items\":[{}]}", "t.json: /: items must be a schema"},
        {"{\"format\":\"email\"}", "t.json: /: format must be uuid or date-time"},
        {"{\"minimum\":\"1\"}", "t.json: /: minimum must be a number"},
        {"{\"allOf\":[]}", "t.json: /: allOf must be a non-empty array of schemas"},
        {"{\"anyOf\":[1]}", "t.json: /anyOf/0: a schema must be an object or a boolean"},
        {"{\"$schema\":\"http://json-schema.org/draft-07/schema#\"}",
         "t.json: /: $schema must be https://json-schema.org/draft/2020-12/schema"},
        {"{\"properties\":{\"a\":{\"$id\":\"urn:inner\"}}}",
         "t.json: /properties/a: $id is supported only at the root"},
        {"{\"properties\":{\"a\":{\"$ref\":\"urn:nope\"}}}",
         "t.json: /properties/a: $ref: unknown schema urn:nope"},
        {"{\"$ref\":\"#/$defs/missing\"}", "t.json: /: $ref: unknown schema #/$defs/missing"},
        {"{\"pattern\":\"(\"}", NULL},
        {"{\"pattern\":\"^\\\\d+$\"}",
         "t.json: /: pattern ^\\d+$: \\d and \\D are not posix, use [0-9]"},
        {"{\"pattern\":\"^[\\\\w-]+$\"}", NULL},
        {"{\"pattern\":\"^(?:a|b)$\"}", "t.json: /: pattern ^(?:a|b)$: (? groups are not posix"},
        {"{\"pattern\":\"a+?\"}", "t.json: /: pattern a+?: lazy or possessive quantifiers are "
                                  "not posix"},
        {"{\"pattern\":\"[[:alpha:]]\"}", NULL},
        {"{\"pattern\":\"\\\\n\"}", NULL},
    };
    saga_schema_registry *reg = NULL;
    char err[256];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        write_test_schema(cases[i].schema);
        err[0] = '\0';
        ck_assert_msg(saga_schema_registry_load(tmpdir, &reg, err, sizeof(err)) == SAGA_ERR_INVALID,
                      "loaded %s", cases[i].schema);
        ck_assert_ptr_null(reg);
        if (cases[i].error)
            ck_assert_str_eq(err, cases[i].error);
        else
            ck_assert_msg(strncmp(err, "t.json: /: pattern ", 19) == 0, "%s: %s", cases[i].schema,
                          err);
    }
}
END_TEST

START_TEST(test_bad_files_rejected)
{
    saga_schema_registry *reg = NULL;
    char err[256] = "";

    /* no schema at all */
    ck_assert_int_eq(saga_schema_registry_load(tmpdir, &reg, err, sizeof(err)), SAGA_ERR_INVALID);
    ck_assert_ptr_null(reg);
    ck_assert_ptr_nonnull(strstr(err, "no *.json schema in"));
    ck_assert_int_eq(saga_schema_registry_load("/nonexistent/schemas", &reg, err, sizeof(err)),
                     SAGA_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/schemas"));

    write_file("t.json", "{\"$id\":\"urn:t\",");
    expect_load_error("t.json: invalid json at byte 14");
    write_file("t.json", "{\"$id\":\"urn:t\"} {}");
    expect_load_error("t.json: invalid json at byte 16: data after the document");
    write_file("t.json", "[]");
    expect_load_error("t.json: a schema file must hold a json object");
    write_file("t.json", "{\"type\":\"object\"}");
    expect_load_error("t.json: $id must be a non-empty string without '#'");
    write_file("t.json", "{\"$id\":\"urn:t#x\"}");
    expect_load_error("t.json: $id must be a non-empty string without '#'");
    write_file("t.json", "{\"$id\":\"urn:t\"}");
    write_file("u.json", "{\"$id\":\"urn:t\"}");
    expect_load_error("u.json: $id urn:t is already used by t.json");
    remove_file("u.json");
    write_file("u.json", "{\"$id\":\"urn:u\",\"bogus\":1}");
    expect_load_error("u.json: /: unsupported keyword bogus");
}
END_TEST

START_TEST(test_ref_cycle)
{
    saga_schema_registry *reg;
    char err[256];

    write_test_schema("{\"$ref\":\"#\"}");
    reg = load_ok(tmpdir);
    ck_assert_int_eq(validate_text(reg, "urn:t", "{}", err, sizeof(err)), SAGA_ERR_INVALID);
    ck_assert_str_eq(err, "/: $ref: schemas nested deeper than 512");
    saga_schema_registry_free(reg);

    /* recursion that follows the instance is fine */
    write_test_schema("{\"type\":\"object\",\"properties\":{\"next\":{\"$ref\":\"#\"}},"
                      "\"additionalProperties\":false}");
    reg = load_ok(tmpdir);
    ck_assert_int_eq(validate_text(reg, "urn:t", "{\"next\":{\"next\":{}}}", err, sizeof(err)),
                     SAGA_OK);
    ck_assert_int_eq(
        validate_text(reg, "urn:t", "{\"next\":{\"next\":{\"x\":1}}}", err, sizeof(err)),
        SAGA_ERR_INVALID);
    ck_assert_str_eq(err, "/next/next: additionalProperties: property x is not allowed");
    saga_schema_registry_free(reg);
}
END_TEST

START_TEST(test_long_path_and_small_buffer)
{
    saga_schema_registry *reg;
    char key[300], err[1024], small[10];
    cJSON *doc, *inner;

    write_test_schema(
        "{\"additionalProperties\":{\"additionalProperties\":{\"additionalProperties\":"
        "{\"type\":\"string\"}}}}");
    reg = load_ok(tmpdir);
    memset(key, 'k', sizeof(key) - 1);
    key[sizeof(key) - 1] = '\0';
    doc = cJSON_CreateObject();
    inner = cJSON_AddObjectToObject(cJSON_AddObjectToObject(doc, key), key);
    cJSON_AddNumberToObject(inner, "n", 1);
    ck_assert_int_eq(saga_schema_validate(reg, "urn:t", doc, err, sizeof(err)), SAGA_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "/...: type: expected string, got integer"));
    ck_assert_int_eq(saga_schema_validate(reg, "urn:t", doc, small, sizeof(small)),
                     SAGA_ERR_INVALID);
    ck_assert_uint_eq(strlen(small), sizeof(small) - 1);
    ck_assert_int_eq(saga_schema_validate(reg, "urn:t", doc, NULL, 0), SAGA_ERR_INVALID);
    cJSON_Delete(doc);
    saga_schema_registry_free(reg);
}
END_TEST

/* ---- the real schemas ----------------------------------------------------------------- */

static const struct example {
    const char *type;
    const char *data;
} examples[] = {
    {"OrderCreated",
     "{\"orderId\":\"0f8fad5b-d9cb-469f-a165-70867728950e\",\"customerId\":\"cust-1\",\"items\":[{\"sku\":\"SKU-1\","
     "\"quantity\":2},{\"sku\":\"book.blue_2\",\"quantity\":1}],\"currency\":\"EUR\","
     "\"deadline\":\"2026-11-22T10:05:00.000Z\"}"},
    {"InventoryReserved",
     "{\"orderId\":\"0f8fad5b-d9cb-469f-a165-70867728950e\",\"customerId\":\"cust-1\",\"amount\":4997,\"currency\":\"EUR\","
     "\"items\":[{\"sku\":\"SKU-1\",\"quantity\":2,\"unitPrice\":1999},"
     "{\"sku\":\"book.blue_2\",\"quantity\":1,\"unitPrice\":999}]}"},
    {"InventoryShortage",
     "{\"orderId\":\"0f8fad5b-d9cb-469f-a165-70867728950e\",\"customerId\":\"cust-1\",\"shortages\":[{\"sku\":\"SKU-1\","
     "\"requested\":2,\"available\":0}]}"},
    {"InventoryReleased", "{\"orderId\":\"0f8fad5b-d9cb-469f-a165-70867728950e\",\"items\":[{\"sku\":\"SKU-1\",\"quantity\":2}],"
                          "\"restocked\":false}"},
    {"PaymentCompleted",
     "{\"orderId\":\"0f8fad5b-d9cb-469f-a165-70867728950e\",\"customerId\":\"cust-1\",\"paymentId\":\"5b6f3c1e-6d2a-4f7b-9a39-0c1d2e3f4a5b\","
     "\"amount\":4997,\"currency\":\"EUR\"}"},
    {"PaymentFailed",
     "{\"orderId\":\"0f8fad5b-d9cb-469f-a165-70867728950e\",\"customerId\":\"cust-1\",\"amount\":4997,\"currency\":\"EUR\","
     "\"reason\":\"INSUFFICIENT_FUNDS\"}"},
    {"PaymentRefunded",
     "{\"orderId\":\"0f8fad5b-d9cb-469f-a165-70867728950e\",\"customerId\":\"cust-1\",\"paymentId\":\"5b6f3c1e-6d2a-4f7b-9a39-0c1d2e3f4a5b\","
     "\"amount\":4997,\"currency\":\"EUR\"}"},
    {"OrderConfirmed",
     "{\"orderId\":\"0f8fad5b-d9cb-469f-a165-70867728950e\",\"customerId\":\"cust-1\",\"amount\":4997,\"currency\":\"EUR\"}"},
    {"OrderCancelled",
     "{\"orderId\":\"0f8fad5b-d9cb-469f-a165-70867728950e\",\"customerId\":\"cust-1\",\"reason\":\"PAYMENT_DECLINED\","
     "\"previousStatus\":\"AWAITING_PAYMENT\"}"},
    {"NotificationSent",
     "{\"orderId\":\"0f8fad5b-d9cb-469f-a165-70867728950e\",\"notificationId\":\"7c9e6679-7425-40de-944b-e07fc1f90ae7\",\"channel\":\"log\","
     "\"trigger\":\"OrderConfirmed\"}"},
};
#define N_EXAMPLES ((int)(sizeof(examples) / sizeof(examples[0])))

static saga_schema_registry *real;

static void real_setup(void)
{
    const char *src = getenv("SAGA_SOURCE_DIR");
    char dir[1024];

    ck_assert_msg(src != NULL, "SAGA_SOURCE_DIR is not set");
    snprintf(dir, sizeof(dir), "%s/schemas", src);
    real = load_ok(dir);
}

static void real_teardown(void)
{
    saga_schema_registry_free(real);
    real = NULL;
}

/* Builds example i the way a service does (new, print) and parses it back. */
static saga_event *example_event(int i)
{
    cJSON *data = cJSON_Parse(examples[i].data);
    saga_event *ev, *back = NULL;
    char err[128];
    char *text;

    ck_assert_ptr_nonnull(data);
    ev = saga_event_new(examples[i].type, "/test-service", "order-1", "order-1",
                        "0b9a1d0c-3f6e-4d8e-8a7b-1c2d3e4f5a6b", data);
    ck_assert_ptr_nonnull(ev);
    text = saga_event_print(ev);
    ck_assert_ptr_nonnull(text);
    ck_assert_int_eq(saga_event_parse(text, strlen(text), &back, err, sizeof(err)), SAGA_OK);
    cJSON_free(text);
    saga_event_free(ev);
    return back;
}

START_TEST(test_example_valid)
{
    saga_event *ev = example_event(_i);
    char err[256] = "";

    ck_assert_msg(saga_schema_validate(real, ev->dataschema, ev->doc, err, sizeof(err)) == SAGA_OK,
                  "%s: %s", ev->type, err);
    ck_assert(saga_schema_type_known(real, ev->type));
    /* and no other event schema accepts it */
    for (int j = 0; j < N_EXAMPLES; j++) {
        char id[128];
        if (j == _i)
            continue;
        snprintf(id, sizeof(id), "urn:saga:schema:%s:1", examples[j].type);
        ck_assert_int_eq(saga_schema_validate(real, id, ev->doc, err, sizeof(err)),
                         SAGA_ERR_INVALID);
    }
    saga_event_free(ev);
}
END_TEST

START_TEST(test_example_without_causation)
{
    saga_event *ev = saga_event_new("OrderConfirmed", "/order-service", "order-1", "order-1", NULL,
                                    cJSON_Parse(examples[7].data));
    saga_event *back = NULL;
    char err[256] = "";
    char *text = saga_event_print(ev);

    ck_assert_int_eq(saga_event_parse(text, strlen(text), &back, err, sizeof(err)), SAGA_OK);
    ck_assert_int_eq(
        saga_schema_validate(real, "urn:saga:schema:OrderConfirmed:1", back->doc, err, sizeof(err)),
        SAGA_OK);
    cJSON_free(text);
    saga_event_free(ev);
    saga_event_free(back);
}
END_TEST

/* The services' ids are UUIDv7 (saga_uuid_v7): the envelope's and the data's id patterns
 * accept them. */
START_TEST(test_v7_ids_valid)
{
    char order_id[SAGA_UUID_LEN + 1], err[256] = "", *text;
    saga_event *ev, *back = NULL;
    cJSON *data = cJSON_CreateObject();

    saga_uuid_v7(order_id);
    ck_assert_int_eq(order_id[14], '7');
    cJSON_AddStringToObject(data, "orderId", order_id);
    cJSON_AddStringToObject(data, "customerId", "cust-1");
    cJSON_AddNumberToObject(data, "amount", 4997);
    cJSON_AddStringToObject(data, "currency", "EUR");
    ev = saga_event_new("OrderConfirmed", "/order-service", order_id, order_id, NULL, data);
    ck_assert_ptr_nonnull(ev);
    ck_assert_int_eq(ev->id[14], '7');
    text = saga_event_print(ev);
    ck_assert_int_eq(saga_event_parse(text, strlen(text), &back, err, sizeof(err)), SAGA_OK);
    ck_assert_msg(saga_schema_validate(real, "urn:saga:schema:OrderConfirmed:1", back->doc, err,
                                       sizeof(err)) == SAGA_OK,
                  "%s", err);
    cJSON_free(text);
    saga_event_free(ev);
    saga_event_free(back);
}
END_TEST

START_TEST(test_real_type_known)
{
    ck_assert(saga_schema_type_known(real, "OrderCreated"));
    ck_assert(saga_schema_type_known(real, "NotificationSent"));
    ck_assert(!saga_schema_type_known(real, "OrderShipped"));
    ck_assert(!saga_schema_type_known(real, "envelope"));
    ck_assert(!saga_schema_type_known(real, ""));
    ck_assert(!saga_schema_type_known(NULL, "OrderCreated"));
}
END_TEST

/* Expects ev->doc to fail against its own schema with exactly `want`. */
static void expect_event_invalid(const saga_event *ev, const char *want)
{
    char err[256] = "";

    ck_assert_int_eq(saga_schema_validate(real, ev->dataschema, ev->doc, err, sizeof(err)),
                     SAGA_ERR_INVALID);
    ck_assert_str_eq(err, want);
}

static cJSON *first_item(const saga_event *ev, const char *array)
{
    return cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(ev->data, array), 0);
}

START_TEST(test_broken_events)
{
    saga_event *ev;

    ev = example_event(0); /* OrderCreated */
    cJSON_ReplaceItemInObjectCaseSensitive(ev->doc, "type", cJSON_CreateString("OrderConfirmed"));
    expect_event_invalid(ev, "/type: const: expected \"OrderCreated\"");
    saga_event_free(ev);

    ev = example_event(0);
    cJSON_DeleteItemFromObjectCaseSensitive(ev->data, "customerId");
    expect_event_invalid(ev, "/data: required: missing property customerId");
    saga_event_free(ev);

    /* identifiers have one spelling: "cust-1 " is not cust-1, an uppercase UUID not
     * the service's id */
    ev = example_event(0);
    cJSON_ReplaceItemInObjectCaseSensitive(ev->data, "customerId", cJSON_CreateString("cust-1 "));
    expect_event_invalid(ev, "/data/customerId: pattern: does not match "
                             "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$");
    saga_event_free(ev);

    ev = example_event(0);
    cJSON_ReplaceItemInObjectCaseSensitive(
        ev->data, "orderId", cJSON_CreateString("0F8FAD5B-D9CB-469F-A165-70867728950E"));
    expect_event_invalid(ev, "/data/orderId: pattern: does not match "
                             "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$");
    saga_event_free(ev);

    ev = example_event(0);
    cJSON_SetNumberValue(cJSON_GetObjectItemCaseSensitive(first_item(ev, "items"), "quantity"), -1);
    expect_event_invalid(ev, "/data/items/0/quantity: minimum: -1 is less than 1");
    saga_event_free(ev);

    ev = example_event(0);
    cJSON_SetNumberValue(cJSON_GetObjectItemCaseSensitive(first_item(ev, "items"), "quantity"),
                         1001);
    expect_event_invalid(ev, "/data/items/0/quantity: maximum: 1001 is greater than 1000");
    saga_event_free(ev);

    ev = example_event(0);
    cJSON_ReplaceItemInObjectCaseSensitive(first_item(ev, "items"), "sku",
                                           cJSON_CreateString("-bad"));
    expect_event_invalid(ev, "/data/items/0/sku: pattern: does not match "
                             "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$");
    saga_event_free(ev);

    ev = example_event(0);
    cJSON_ReplaceItemInObjectCaseSensitive(ev->data, "items", cJSON_CreateArray());
    expect_event_invalid(ev, "/data/items: minItems: 0 items, fewer than 1");
    saga_event_free(ev);

    ev = example_event(0);
    cJSON_AddNumberToObject(ev->data, "discount", 5);
    expect_event_invalid(ev, "/data: additionalProperties: property discount is not allowed");
    saga_event_free(ev);

    ev = example_event(0);
    cJSON_ReplaceItemInObjectCaseSensitive(ev->data, "deadline", cJSON_CreateString("soon"));
    expect_event_invalid(ev, "/data/deadline: format: not an rfc 3339 date-time");
    saga_event_free(ev);

    ev = example_event(1); /* InventoryReserved */
    cJSON_SetNumberValue(cJSON_GetObjectItemCaseSensitive(ev->data, "amount"), 49.97);
    expect_event_invalid(ev, "/data/amount: type: expected integer, got number");
    saga_event_free(ev);

    ev = example_event(4); /* PaymentCompleted */
    cJSON_ReplaceItemInObjectCaseSensitive(ev->data, "currency", cJSON_CreateString("eur"));
    expect_event_invalid(ev, "/data/currency: pattern: does not match ^[A-Z]{3}$");
    saga_event_free(ev);

    ev = example_event(5); /* PaymentFailed */
    cJSON_ReplaceItemInObjectCaseSensitive(ev->data, "reason", cJSON_CreateString("NOPE"));
    expect_event_invalid(ev, "/data/reason: enum: not one of [\"INSUFFICIENT_FUNDS\","
                             "\"CUSTOMER_BLOCKED\",\"LIMIT_EXCEEDED\",\"WALLET_NOT_FOUND\","
                             "\"GATEWAY_ERROR\"]");
    saga_event_free(ev);
}
END_TEST

START_TEST(test_broken_envelopes)
{
    saga_event *ev;

    ev = example_event(8); /* OrderCancelled */
    cJSON_ReplaceItemInObjectCaseSensitive(ev->doc, "id", cJSON_CreateString("not-a-uuid"));
    expect_event_invalid(ev, "/id: pattern: does not match "
                             "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$");
    saga_event_free(ev);

    ev = example_event(8);
    cJSON_DeleteItemFromObjectCaseSensitive(ev->doc, "correlationid");
    expect_event_invalid(ev, "/: required: missing property correlationid");
    saga_event_free(ev);

    ev = example_event(8);
    cJSON_ReplaceItemInObjectCaseSensitive(ev->doc, "time",
                                           cJSON_CreateString("2026-11-22T10:00:00"));
    expect_event_invalid(ev, "/time: format: not an rfc 3339 date-time");
    saga_event_free(ev);

    ev = example_event(8);
    cJSON_ReplaceItemInObjectCaseSensitive(ev->doc, "dataschema",
                                           cJSON_CreateString("urn:saga:schema:OrderCancelled:2"));
    expect_event_invalid(ev, "/dataschema: const: expected \"urn:saga:schema:OrderCancelled:1\"");
    saga_event_free(ev);

    /* extension attributes are allowed */
    ev = example_event(8);
    cJSON_AddStringToObject(ev->doc, "traceparent",
                            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    {
        char err[256] = "";
        ck_assert_int_eq(saga_schema_validate(real, ev->dataschema, ev->doc, err, sizeof(err)),
                         SAGA_OK);
    }
    saga_event_free(ev);
}
END_TEST

static void *validate_many(void *arg)
{
    saga_event *ev = arg;
    char err[256];
    intptr_t failures = 0;

    for (int i = 0; i < 300; i++)
        if (saga_schema_validate(real, ev->dataschema, ev->doc, err, sizeof(err)) != SAGA_OK)
            failures++;
    return (void *)failures;
}

START_TEST(test_validate_from_threads)
{
    pthread_t th[4];
    saga_event *ev[4];
    void *res;

    for (int i = 0; i < 4; i++) {
        ev[i] = example_event(i);
        ck_assert_int_eq(pthread_create(&th[i], NULL, validate_many, ev[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(pthread_join(th[i], &res), 0);
        ck_assert_int_eq((intptr_t)res, 0);
        saga_event_free(ev[i]);
    }
}
END_TEST

static Suite *schema_suite(void)
{
    Suite *s = suite_create("schema");
    TCase *tc_core = tcase_create("core");
    TCase *tc_limits = tcase_create("limits");

    tcase_add_checked_fixture(tc_core, tmp_setup, tmp_teardown);
    tcase_add_checked_fixture(tc_core, real_setup, real_teardown);
    tcase_add_loop_test(tc_core, test_keyword, 0,
                        (int)(sizeof(keyword_cases) / sizeof(keyword_cases[0])));
    tcase_add_test(tc_core, test_date_time_formats);
    tcase_add_test(tc_core, test_ref_across_files);
    tcase_add_test(tc_core, test_compiled_keywords);
    tcase_add_test(tc_core, test_other_files_ignored);
    tcase_add_loop_test(tc_core, test_example_valid, 0, N_EXAMPLES);
    tcase_add_test(tc_core, test_example_without_causation);
    tcase_add_test(tc_core, test_v7_ids_valid);
    tcase_add_test(tc_core, test_real_type_known);
    suite_add_tcase(s, tc_core);

    tcase_add_checked_fixture(tc_limits, tmp_setup, tmp_teardown);
    tcase_add_checked_fixture(tc_limits, real_setup, real_teardown);
    tcase_add_test(tc_limits, test_unknown_keyword_rejected);
    tcase_add_test(tc_limits, test_bad_keyword_values_rejected);
    tcase_add_test(tc_limits, test_bad_files_rejected);
    tcase_add_test(tc_limits, test_ref_cycle);
    tcase_add_test(tc_limits, test_long_path_and_small_buffer);
    tcase_add_test(tc_limits, test_broken_events);
    tcase_add_test(tc_limits, test_broken_envelopes);
    tcase_add_test(tc_limits, test_validate_from_threads);
    suite_add_tcase(s, tc_limits);
    return s;
}

/* Writes every example event to dir/<type>.json. */
static int dump_examples(const char *dir)
{
    for (int i = 0; i < N_EXAMPLES; i++) {
        saga_event *ev =
            saga_event_new(examples[i].type, "/test-service", "order-1", "order-1",
                           "0b9a1d0c-3f6e-4d8e-8a7b-1c2d3e4f5a6b", cJSON_Parse(examples[i].data));
        char *text = ev ? saga_event_print(ev) : NULL;
        char path[1024];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s.json", dir, examples[i].type);
        f = text ? fopen(path, "w") : NULL;
        if (f) {
            fputs(text, f);
            fclose(f);
        }
        cJSON_free(text);
        saga_event_free(ev);
        if (!f) {
            fprintf(stderr, "cannot write %s\n", path);
            return EXIT_FAILURE;
        }
    }
    return EXIT_SUCCESS;
}

int main(int argc, char **argv)
{
    SRunner *sr;
    int failed;

    if (argc == 3 && strcmp(argv[1], "--dump-examples") == 0)
        return dump_examples(argv[2]);
    sr = srunner_create(schema_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
