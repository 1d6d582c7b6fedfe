/* schema.c - a JSON Schema (draft 2020-12) validator for the keyword subset in schema.h.
 *
 * Load: every *.json file of the directory (not hidden, sorted by name) is parsed and
 * must be an object with a string "$id", unique in the registry. Then every schema is
 * walked once: each keyword must be one we implement (or an annotation we ignore), its
 * value must have the right shape, every `pattern` is compiled, and every `$ref` must
 * resolve. So a registry that loads can only fail validation because of the instance.
 *
 * Compile: every schema the walk met gets a schema_node, its keywords looked up once
 * (their members' names are not compared again per event), its $ref resolved and its
 * pattern's regex found; the type names events may carry are listed and sorted. Both
 * tables are sorted, and looked up by the schema's address or the name.
 *
 * Validate: a recursive walk of schema and instance that stops at the first error. The
 * registry is never written after load, so validation is thread-safe; glibc's regexec
 * may be called on one regex_t from several threads.
 *
 * Regex dialect: `pattern` is compiled as a POSIX extended regex (REG_EXTENDED), while
 * JSON Schema means ECMA-262. Patterns that would mean something else in one of them
 * are refused at load: escapes other than \w \W \s \S \b \B and escaped punctuation
 * (glibc reads "\d" as a plain "d"), backslashes and "[:" inside brackets, "(?" groups,
 * lazy or possessive quantifiers. Write [0-9] for \d. Differences left: "." also matches
 * a newline here, and characters are bytes (the C locale), not code points.
 *
 * Other limits: $id only at a schema's root; $ref is "<$id>", "<$id>#<json pointer>" or
 * "#<json pointer>" (no percent-decoding); items is a single schema (2020-12); format
 * is "uuid" or "date-time" and is asserted; numbers are doubles (integers are exact up
 * to 2^53). A string holding \u0000 is seen only up to it (cJSON strings are C strings). */
#include "saga/schema.h"
#include "saga/file.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "saga/err.h"

#define SCHEMA_PATH_MAX 512     /* longest instance or schema path written in a message */
#define SCHEMA_FILE_MAX 4194304 /* a schema file larger than this is refused */
#define SCHEMA_DEPTH_MAX 512    /* nested subschemas (and $ref hops) during validation */
#define SCHEMA_DRAFT "https://json-schema.org/draft/2020-12/schema"

typedef struct schema_doc {
    char *file;     /* base name of the file, for messages */
    cJSON *root;    /* owned */
    const char *id; /* borrowed from root's "$id" */
} schema_doc;

typedef struct schema_regex {
    const cJSON *node; /* the "pattern" item it was compiled from (key for lookups) */
    regex_t re;
} schema_regex;

/* The numeric limits, as schema_node.limits holds them. */
enum { LIMIT_MINIMUM, LIMIT_MAXIMUM, LIMIT_EXCLUSIVE_MINIMUM, LIMIT_EXCLUSIVE_MAXIMUM, LIMITS };

static const struct {
    const char *kw;
    int sign; /* the instance must be >= (1) or <= (-1) the limit */
    bool strict;
    const char *fails;
} LIMIT_RULES[LIMITS] = {
    [LIMIT_MINIMUM] = {"minimum", 1, false, "is less than"},
    [LIMIT_MAXIMUM] = {"maximum", -1, false, "is greater than"},
    [LIMIT_EXCLUSIVE_MINIMUM] = {"exclusiveMinimum", 1, true, "is not greater than"},
    [LIMIT_EXCLUSIVE_MAXIMUM] = {"exclusiveMaximum", -1, true, "is not less than"},
};

enum schema_format { FORMAT_NONE, FORMAT_UUID, FORMAT_DATE_TIME };

/* One schema object's keywords, found once (NULL: the keyword is absent). */
typedef struct schema_node {
    const cJSON *node;     /* the schema object: the key for lookups */
    const schema_doc *doc; /* the document that holds it (for "#..." refs) */
    const cJSON *type, *konst, *enumv, *all_of, *any_of;
    const cJSON *ref;          /* "$ref" */
    const cJSON *ref_target;   /* what it resolves to; NULL if nothing */
    const schema_doc *ref_doc; /* and the document that holds that */
    const cJSON *min_length, *max_length;
    const cJSON *pattern; /* the "pattern" item */
    const regex_t *regex; /* compiled from it; NULL if not */
    enum schema_format format;
    const cJSON *limits[LIMITS];
    const cJSON *min_items, *max_items, *unique_items, *items;
    const cJSON *required, *properties, *additional;
} schema_node;

struct saga_schema_registry {
    schema_doc *docs;
    size_t ndocs;
    schema_regex *regexes; /* sorted by node after load */
    size_t nregexes;
    size_t capregexes;
    schema_node *nodes; /* every schema the load walked, sorted by node */
    size_t nnodes;
    size_t capnodes;
    const char **types; /* the event types the schemas name, sorted (borrowed) */
    size_t ntypes;
};

/* A JSON pointer being built while walking: "" is the root, shown as "/". Once a segment
 * does not fit, it and all deeper ones are only counted in `overflow`, shown as "/...". */
typedef struct schema_path {
    char buf[SCHEMA_PATH_MAX];
    size_t len;
    unsigned overflow;
} schema_path;

typedef struct schema_ctx {
    const saga_schema_registry *reg;
    schema_path path;
    char *err; /* NULL while trying anyOf branches that need no message */
    size_t errlen;
    int depth;
} schema_ctx;

/* ---- paths ---------------------------------------------------------------------------- */

/* Appends "/" and seg (escaped as a JSON pointer token). Returns the length to pop to. */
static size_t schema_path_push(schema_path *p, const char *seg)
{
    size_t old = p->len, need = 1, i;

    for (i = 0; seg[i]; i++)
        need += (seg[i] == '~' || seg[i] == '/') ? 2 : 1;
    if (p->overflow > 0 || p->len + need >= sizeof(p->buf)) {
        p->overflow++;
        return old;
    }
    p->buf[p->len++] = '/';
    for (i = 0; seg[i]; i++) {
        if (seg[i] == '~' || seg[i] == '/') {
            p->buf[p->len++] = '~';
            p->buf[p->len++] = seg[i] == '~' ? '0' : '1';
        } else {
            p->buf[p->len++] = seg[i];
        }
    }
    p->buf[p->len] = '\0';
    return old;
}

static size_t schema_path_push_index(schema_path *p, size_t index)
{
    char seg[24];

    snprintf(seg, sizeof(seg), "%zu", index);
    return schema_path_push(p, seg);
}

static void schema_path_pop(schema_path *p, size_t old)
{
    if (p->len == old && p->overflow > 0) {
        p->overflow--;
        return;
    }
    p->len = old;
    p->buf[p->len] = '\0';
}

static const char *schema_path_str(const schema_path *p)
{
    return p->len ? p->buf : "/";
}

static const char *schema_path_more(const schema_path *p)
{
    return p->overflow ? "/..." : "";
}

/* ---- small checks --------------------------------------------------------------------- */

static bool schema_is_schema(const cJSON *s)
{
    return cJSON_IsObject(s) || cJSON_IsBool(s);
}

static bool schema_is_integer(const cJSON *v)
{
    return cJSON_IsNumber(v) && isfinite(v->valuedouble) && v->valuedouble == floor(v->valuedouble);
}

static bool schema_is_count(const cJSON *v)
{
    return schema_is_integer(v) && v->valuedouble >= 0;
}

/* Number of code points in UTF-8 text (continuation bytes are not counted). */
static size_t schema_utf8_len(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

/* Shortest of %.15g / %.17g that gives v back; integers without an exponent. */
static void schema_fmt_num(double v, char *buf, size_t len)
{
    if (isfinite(v) && v == floor(v) && fabs(v) < 1e15) {
        snprintf(buf, len, "%.0f", v);
        return;
    }
    snprintf(buf, len, "%.15g", v);
    if (strtod(buf, NULL) != v)
        snprintf(buf, len, "%.17g", v);
}

/* Compact JSON of v cut to fit buf, for messages. */
static void schema_fmt_json(const cJSON *v, char *buf, size_t len)
{
    char *text = cJSON_PrintUnformatted(v);

    if (!text) {
        snprintf(buf, len, "(value)");
        return;
    }
    if (strlen(text) >= len && len > 4)
        snprintf(buf, len, "%.*s...", (int)(len - 4), text);
    else
        snprintf(buf, len, "%s", text);
    cJSON_free(text);
}

static bool schema_is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* 8-4-4-4-12 hex digits, either case. */
static bool schema_is_uuid(const char *s)
{
    size_t i;

    for (i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return false;
        } else if (!schema_is_hex(s[i])) {
            return false;
        }
    }
    return s[36] == '\0';
}

/* Reads n digits at *s into *out and advances *s. */
static bool schema_digits(const char **s, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        char c = (*s)[i];
        if (c < '0' || c > '9')
            return false;
        v = v * 10 + (c - '0');
    }
    *s += n;
    *out = v;
    return true;
}

/* RFC 3339 date-time: YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm|-hh:mm), T and Z in any case. */
static bool schema_is_date_time(const char *s)
{
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int year, mon, day, hour, min, sec, oh, om;

    if (!schema_digits(&s, 4, &year) || *s++ != '-' || !schema_digits(&s, 2, &mon) || *s++ != '-' ||
        !schema_digits(&s, 2, &day))
        return false;
    if (*s != 'T' && *s != 't')
        return false;
    s++;
    if (!schema_digits(&s, 2, &hour) || *s++ != ':' || !schema_digits(&s, 2, &min) || *s++ != ':' ||
        !schema_digits(&s, 2, &sec))
        return false;
    if (mon < 1 || mon > 12 || day < 1 || day > mdays[mon - 1])
        return false;
    if (mon == 2 && day == 29 && !((year % 4 == 0 && year % 100 != 0) || year % 400 == 0))
        return false;
    if (hour > 23 || min > 59 || sec > 60) /* 60: a leap second */
        return false;
    if (*s == '.') {
        s++;
        if (*s < '0' || *s > '9')
            return false;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    if (*s == 'Z' || *s == 'z')
        return s[1] == '\0';
    if (*s != '+' && *s != '-')
        return false;
    s++;
    if (!schema_digits(&s, 2, &oh) || *s++ != ':' || !schema_digits(&s, 2, &om))
        return false;
    return oh <= 23 && om <= 59 && *s == '\0';
}

/* JSON equality: numbers by value, objects regardless of member order. */
static bool schema_json_equal(const cJSON *a, const cJSON *b)
{
    const cJSON *x, *y;

    if (cJSON_IsNumber(a) && cJSON_IsNumber(b))
        return a->valuedouble == b->valuedouble;
    if ((a->type & 0xFF) != (b->type & 0xFF))
        return false;
    if (cJSON_IsString(a))
        return strcmp(a->valuestring, b->valuestring) == 0;
    if (cJSON_IsArray(a)) {
        for (x = a->child, y = b->child; x && y; x = x->next, y = y->next)
            if (!schema_json_equal(x, y))
                return false;
        return !x && !y;
    }
    if (cJSON_IsObject(a)) {
        if (cJSON_GetArraySize(a) != cJSON_GetArraySize(b))
            return false;
        cJSON_ArrayForEach(x, a)
        {
            y = cJSON_GetObjectItemCaseSensitive(b, x->string);
            if (!y || !schema_json_equal(x, y))
                return false;
        }
        return true;
    }
    return true; /* null, true, false: same type is enough */
}

static bool schema_type_matches(const char *name, const cJSON *v)
{
    if (strcmp(name, "null") == 0)
        return cJSON_IsNull(v);
    if (strcmp(name, "boolean") == 0)
        return cJSON_IsBool(v);
    if (strcmp(name, "object") == 0)
        return cJSON_IsObject(v);
    if (strcmp(name, "array") == 0)
        return cJSON_IsArray(v);
    if (strcmp(name, "number") == 0)
        return cJSON_IsNumber(v);
    if (strcmp(name, "string") == 0)
        return cJSON_IsString(v);
    if (strcmp(name, "integer") == 0)
        return schema_is_integer(v);
    return false;
}

static bool schema_type_name_valid(const cJSON *v)
{
    static const char *const names[] = {"null",   "boolean", "object", "array",
                                        "number", "string",  "integer"};

    if (!cJSON_IsString(v))
        return false;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(v->valuestring, names[i]) == 0)
            return true;
    return false;
}

static const char *schema_json_type_name(const cJSON *v)
{
    if (cJSON_IsNull(v))
        return "null";
    if (cJSON_IsBool(v))
        return "boolean";
    if (cJSON_IsObject(v))
        return "object";
    if (cJSON_IsArray(v))
        return "array";
    if (cJSON_IsString(v))
        return "string";
    if (cJSON_IsNumber(v))
        return schema_is_integer(v) ? "integer" : "number";
    return "invalid";
}

/* ---- $ref ----------------------------------------------------------------------------- */

static const schema_doc *schema_find_doc(const saga_schema_registry *reg, const char *id,
                                         size_t idlen)
{
    for (size_t i = 0; i < reg->ndocs; i++)
        if (strlen(reg->docs[i].id) == idlen && memcmp(reg->docs[i].id, id, idlen) == 0)
            return &reg->docs[i];
    return NULL;
}

/* Follows a JSON pointer ("" or "/a/b~1c/0") from root. NULL if it leads nowhere. */
static const cJSON *schema_follow_pointer(const cJSON *root, const char *ptr)
{
    char token[256];
    const cJSON *node = root;

    while (*ptr) {
        size_t n = 0;

        if (*ptr++ != '/')
            return NULL;
        while (*ptr && *ptr != '/') {
            char c = *ptr++;
            if (c == '~') {
                if (*ptr != '0' && *ptr != '1')
                    return NULL;
                c = *ptr++ == '0' ? '~' : '/';
            }
            if (n + 1 >= sizeof(token))
                return NULL;
            token[n++] = c;
        }
        token[n] = '\0';
        if (cJSON_IsObject(node)) {
            node = cJSON_GetObjectItemCaseSensitive(node, token);
        } else if (cJSON_IsArray(node)) {
            char *end = NULL;
            unsigned long idx;

            if (n == 0 || token[0] < '0' || token[0] > '9' || (token[0] == '0' && n > 1))
                return NULL;
            errno = 0;
            idx = strtoul(token, &end, 10);
            if (errno || *end || idx > INT32_MAX)
                return NULL;
            node = cJSON_GetArrayItem(node, (int)idx);
        } else {
            return NULL;
        }
        if (!node)
            return NULL;
    }
    return node;
}

/* Resolves ref from the document `base` (NULL: only absolute refs). Returns the target
 * schema and sets *doc_out to the document that holds it, or returns NULL. */
static const cJSON *schema_resolve(const saga_schema_registry *reg, const schema_doc *base,
                                   const char *ref, const schema_doc **doc_out)
{
    const char *hash = strchr(ref, '#');
    size_t idlen = hash ? (size_t)(hash - ref) : strlen(ref);
    const schema_doc *doc = idlen ? schema_find_doc(reg, ref, idlen) : base;
    const cJSON *target;

    if (!doc)
        return NULL;
    target = hash ? schema_follow_pointer(doc->root, hash + 1) : doc->root;
    if (!target || !schema_is_schema(target))
        return NULL;
    *doc_out = doc;
    return target;
}

/* ---- load ----------------------------------------------------------------------------- */

typedef struct schema_load {
    saga_schema_registry *reg;
    const schema_doc *doc;
    schema_path path; /* inside the schema document */
    char *err;
    size_t errlen;
} schema_load;

static int schema_load_fail(schema_load *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int schema_load_fail(schema_load *l, const char *fmt, ...)
{
    char detail[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    saga_err_format(l->err, l->errlen, "%s: %s%s: %s", l->doc->file, schema_path_str(&l->path),
                   schema_path_more(&l->path), detail);
    return SAGA_ERR_INVALID;
}

/* The array `items` (n used of *cap, each `size` bytes) with room for one more: itself,
 * or grown (doubled) with *cap updated. NULL, with the error in l, on no memory (items
 * is still the caller's). */
static void *schema_room_for_one(schema_load *l, void *items, size_t n, size_t *cap, size_t size)
{
    size_t grown_cap;
    void *grown;

    if (n < *cap)
        return items;
    grown_cap = *cap ? *cap * 2 : 16;
    grown = realloc(items, grown_cap * size);
    if (!grown) {
        saga_err_format(l->err, l->errlen, "out of memory");
        return NULL;
    }
    *cap = grown_cap;
    return grown;
}

/* NULL if the pattern means the same in POSIX ERE and ECMA-262 (as far as we can tell),
 * else what is wrong with it. */
static const char *schema_pattern_unportable(const char *p)
{
    size_t i = 0;

    while (p[i]) {
        char c = p[i];

        if (c == '\\') {
            char e = p[i + 1];
            if (e == '\0')
                return "trailing backslash";
            if (e == 'd' || e == 'D')
                return "\\d and \\D are not posix, use [0-9]";
            if (((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z') || (e >= '0' && e <= '9')) &&
                !strchr("wWsSbB", e))
                return "escape not supported by posix extended regex";
            i += 2;
            continue;
        }
        if (c == '(' && p[i + 1] == '?')
            return "(? groups are not posix";
        if (strchr("*+?}", c) && (p[i + 1] == '?' || p[i + 1] == '+'))
            return "lazy or possessive quantifiers are not posix";
        if (c == '[') {
            i++;
            if (p[i] == '^')
                i++;
            if (p[i] == ']')
                i++; /* a leading ] is literal */
            while (p[i] && p[i] != ']') {
                if (p[i] == '\\')
                    return "backslash inside brackets means different things in posix and "
                           "ecma-262";
                if (p[i] == '[' && (p[i + 1] == ':' || p[i + 1] == '.' || p[i + 1] == '='))
                    return "posix bracket classes are not ecma-262";
                i++;
            }
            if (!p[i])
                return "unterminated bracket expression";
        }
        i++;
    }
    return NULL;
}

static int schema_load_pattern(schema_load *l, const cJSON *node)
{
    saga_schema_registry *reg = l->reg;
    const char *why;
    char msg[128];
    int rc;

    why = schema_pattern_unportable(node->valuestring);
    if (why)
        return schema_load_fail(l, "pattern %s: %s", node->valuestring, why);
    schema_regex *regexes =
        schema_room_for_one(l, reg->regexes, reg->nregexes, &reg->capregexes, sizeof(*regexes));
    if (!regexes)
        return SAGA_ERR_NOMEM;
    reg->regexes = regexes;
    rc = regcomp(&reg->regexes[reg->nregexes].re, node->valuestring, REG_EXTENDED | REG_NOSUB);
    if (rc != 0) {
        regerror(rc, &reg->regexes[reg->nregexes].re, msg, sizeof(msg));
        regfree(&reg->regexes[reg->nregexes].re);
        return schema_load_fail(l, "pattern %s: %s", node->valuestring, msg);
    }
    reg->regexes[reg->nregexes].node = node;
    reg->nregexes++;
    return SAGA_OK;
}

/* Notes schema s of the document being checked, to be compiled once all are. */
static int schema_note_node(schema_load *l, const cJSON *s)
{
    saga_schema_registry *reg = l->reg;
    schema_node *nodes =
        schema_room_for_one(l, reg->nodes, reg->nnodes, &reg->capnodes, sizeof(*nodes));

    if (!nodes)
        return SAGA_ERR_NOMEM;
    reg->nodes = nodes;
    reg->nodes[reg->nnodes++] = (schema_node){.node = s, .doc = l->doc};
    return SAGA_OK;
}

static int schema_check(schema_load *l, const cJSON *s);

/* Checks a keyword whose value is one schema, found at path segment `seg`. */
static int schema_check_sub(schema_load *l, const char *seg, const cJSON *s)
{
    size_t mark = schema_path_push(&l->path, seg);
    int rc = schema_check(l, s);

    schema_path_pop(&l->path, mark);
    return rc;
}

/* Checks an object whose members are schemas (properties, $defs). */
static int schema_check_map(schema_load *l, const char *kw, const cJSON *map)
{
    const cJSON *sub;
    size_t mark;
    int rc = SAGA_OK;

    if (!cJSON_IsObject(map))
        return schema_load_fail(l, "%s must be an object", kw);
    mark = schema_path_push(&l->path, kw);
    cJSON_ArrayForEach(sub, map)
    {
        rc = schema_check_sub(l, sub->string, sub);
        if (rc)
            break;
    }
    schema_path_pop(&l->path, mark);
    return rc;
}

/* Checks an array of schemas (allOf, anyOf). */
static int schema_check_list(schema_load *l, const char *kw, const cJSON *list)
{
    const cJSON *sub;
    size_t mark, i = 0;
    int rc = SAGA_OK;

    if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) == 0)
        return schema_load_fail(l, "%s must be a non-empty array of schemas", kw);
    mark = schema_path_push(&l->path, kw);
    cJSON_ArrayForEach(sub, list)
    {
        size_t mark2 = schema_path_push_index(&l->path, i++);
        rc = schema_check(l, sub);
        schema_path_pop(&l->path, mark2);
        if (rc)
            break;
    }
    schema_path_pop(&l->path, mark);
    return rc;
}

static bool schema_is_annotation(const char *kw)
{
    static const char *const names[] = {"$schema",  "$id",      "title",  "description",
                                        "$comment", "examples", "default"};

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(kw, names[i]) == 0)
            return true;
    return false;
}

/* Checks one schema: known keywords with well-formed values, patterns, $refs. */
static int schema_check(schema_load *l, const cJSON *s)
{
    const cJSON *kw;
    int rc = SAGA_OK;

    if (cJSON_IsBool(s))
        return SAGA_OK;
    if (!cJSON_IsObject(s))
        return schema_load_fail(l, "a schema must be an object or a boolean");
    if ((rc = schema_note_node(l, s)))
        return rc;
    cJSON_ArrayForEach(kw, s)
    {
        const char *k = kw->string;

        if (strcmp(k, "$id") == 0) {
            if (s != l->doc->root)
                return schema_load_fail(l, "$id is supported only at the root");
        } else if (strcmp(k, "$schema") == 0) {
            if (!cJSON_IsString(kw) || strcmp(kw->valuestring, SCHEMA_DRAFT) != 0)
                return schema_load_fail(l, "$schema must be " SCHEMA_DRAFT);
        } else if (schema_is_annotation(k) || strcmp(k, "const") == 0) {
            continue;
        } else if (strcmp(k, "type") == 0) {
            const cJSON *t;
            bool ok = schema_type_name_valid(kw);

            if (cJSON_IsArray(kw) && cJSON_GetArraySize(kw) > 0) {
                ok = true;
                cJSON_ArrayForEach(t, kw)
                {
                    ok = ok && schema_type_name_valid(t);
                }
            }
            if (!ok)
                return schema_load_fail(l, "type must be a type name or an array of them");
        } else if (strcmp(k, "properties") == 0 || strcmp(k, "$defs") == 0) {
            rc = schema_check_map(l, k, kw);
        } else if (strcmp(k, "required") == 0) {
            const cJSON *name;
            bool ok = cJSON_IsArray(kw);

            cJSON_ArrayForEach(name, kw)
            {
                ok = ok && cJSON_IsString(name);
            }
            if (!ok)
                return schema_load_fail(l, "required must be an array of strings");
        } else if (strcmp(k, "additionalProperties") == 0 || strcmp(k, "items") == 0) {
            if (!schema_is_schema(kw))
                return schema_load_fail(l, "%s must be a schema", k);
            rc = schema_check_sub(l, k, kw);
        } else if (strcmp(k, "minItems") == 0 || strcmp(k, "maxItems") == 0 ||
                   strcmp(k, "minLength") == 0 || strcmp(k, "maxLength") == 0) {
            if (!schema_is_count(kw))
                return schema_load_fail(l, "%s must be a non-negative integer", k);
        } else if (strcmp(k, "uniqueItems") == 0) {
            if (!cJSON_IsBool(kw))
                return schema_load_fail(l, "uniqueItems must be a boolean");
        } else if (strcmp(k, "enum") == 0) {
            if (!cJSON_IsArray(kw))
                return schema_load_fail(l, "enum must be an array");
        } else if (strcmp(k, "pattern") == 0) {
            if (!cJSON_IsString(kw))
                return schema_load_fail(l, "pattern must be a string");
            rc = schema_load_pattern(l, kw);
        } else if (strcmp(k, "format") == 0) {
            if (!cJSON_IsString(kw) ||
                (strcmp(kw->valuestring, "uuid") != 0 && strcmp(kw->valuestring, "date-time") != 0))
                return schema_load_fail(l, "format must be uuid or date-time");
        } else if (strcmp(k, "minimum") == 0 || strcmp(k, "maximum") == 0 ||
                   strcmp(k, "exclusiveMinimum") == 0 || strcmp(k, "exclusiveMaximum") == 0) {
            if (!cJSON_IsNumber(kw))
                return schema_load_fail(l, "%s must be a number", k);
        } else if (strcmp(k, "allOf") == 0 || strcmp(k, "anyOf") == 0) {
            rc = schema_check_list(l, k, kw);
        } else if (strcmp(k, "$ref") == 0) {
            const schema_doc *target_doc;

            if (!cJSON_IsString(kw))
                return schema_load_fail(l, "$ref must be a string");
            if (!schema_resolve(l->reg, l->doc, kw->valuestring, &target_doc))
                return schema_load_fail(l, "$ref: unknown schema %s", kw->valuestring);
        } else {
            return schema_load_fail(l, "unsupported keyword %s", k);
        }
        if (rc)
            return rc;
    }
    return SAGA_OK;
}

static int schema_cmp_names(const void *a, const void *b)
{
    const char *const *x = a;
    const char *const *y = b;

    return strcmp(*x, *y);
}

static int schema_cmp_regex(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)((const schema_regex *)a)->node;
    uintptr_t y = (uintptr_t)((const schema_regex *)b)->node;

    return x < y ? -1 : x > y;
}

static int schema_cmp_nodes(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)((const schema_node *)a)->node;
    uintptr_t y = (uintptr_t)((const schema_node *)b)->node;

    return x < y ? -1 : x > y;
}

static const regex_t *schema_find_regex(const saga_schema_registry *reg, const cJSON *node)
{
    schema_regex key = {.node = node};
    const schema_regex *hit =
        bsearch(&key, reg->regexes, reg->nregexes, sizeof(*reg->regexes), schema_cmp_regex);

    return hit ? &hit->re : NULL;
}

static const schema_node *schema_find_node(const saga_schema_registry *reg, const cJSON *s)
{
    schema_node key = {.node = s};

    return bsearch(&key, reg->nodes, reg->nnodes, sizeof(*reg->nodes), schema_cmp_nodes);
}

/* Fills n with the keywords of schema s, which lives in doc. As
 * cJSON_GetObjectItemCaseSensitive would, the first of a repeated keyword counts. */
static void schema_node_fill(const saga_schema_registry *reg, const schema_doc *doc, const cJSON *s,
                             schema_node *n)
{
    static const struct {
        const char *name;
        size_t offset;
    } keywords[] = {
#define KEYWORD(name, field) {name, offsetof(schema_node, field)}
        KEYWORD("type", type),
        KEYWORD("const", konst),
        KEYWORD("enum", enumv),
        KEYWORD("allOf", all_of),
        KEYWORD("anyOf", any_of),
        KEYWORD("$ref", ref),
        KEYWORD("minLength", min_length),
        KEYWORD("maxLength", max_length),
        KEYWORD("pattern", pattern),
        KEYWORD("minItems", min_items),
        KEYWORD("maxItems", max_items),
        KEYWORD("uniqueItems", unique_items),
        KEYWORD("items", items),
        KEYWORD("required", required),
        KEYWORD("properties", properties),
        KEYWORD("additionalProperties", additional),
#undef KEYWORD
    };
    const cJSON *kw, *format = NULL;

    *n = (schema_node){.node = s, .doc = doc};
    cJSON_ArrayForEach(kw, s)
    {
        const cJSON **slot = NULL;

        for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]) && !slot; i++)
            if (strcmp(kw->string, keywords[i].name) == 0)
                slot = (const cJSON **)((char *)n + keywords[i].offset);
        for (size_t i = 0; i < LIMITS && !slot; i++)
            if (strcmp(kw->string, LIMIT_RULES[i].kw) == 0)
                slot = &n->limits[i];
        if (!slot && strcmp(kw->string, "format") == 0)
            slot = &format;
        if (slot && !*slot)
            *slot = kw;
    }
    if (cJSON_IsString(n->ref))
        n->ref_target = schema_resolve(reg, doc, n->ref->valuestring, &n->ref_doc);
    if (n->pattern)
        n->regex = schema_find_regex(reg, n->pattern);
    if (cJSON_IsString(format))
        n->format = strcmp(format->valuestring, "uuid") == 0        ? FORMAT_UUID
                    : strcmp(format->valuestring, "date-time") == 0 ? FORMAT_DATE_TIME
                                                                    : FORMAT_NONE;
}

/* Counts the event types schema s names (a "const" on its property "type", itself or
 * through allOf) in *n, and stores them from out[*n] on unless out is NULL. */
static void schema_collect_types(const cJSON *s, int depth, const char **out, size_t *n)
{
    const cJSON *props, *t, *konst, *sub;

    if (!cJSON_IsObject(s) || depth > 16)
        return;
    props = cJSON_GetObjectItemCaseSensitive(s, "properties");
    t = cJSON_GetObjectItemCaseSensitive(props, "type");
    konst = cJSON_GetObjectItemCaseSensitive(t, "const");
    if (cJSON_IsString(konst)) {
        if (out)
            out[*n] = konst->valuestring;
        (*n)++;
    }
    cJSON_ArrayForEach(sub, cJSON_GetObjectItemCaseSensitive(s, "allOf"))
    {
        schema_collect_types(sub, depth + 1, out, n);
    }
}

/* The compile step (see the top): run once every document is checked. */
static int schema_compile(saga_schema_registry *reg, char *err, size_t errlen)
{
    size_t kept = 0;

    if (reg->nregexes > 1)
        qsort(reg->regexes, reg->nregexes, sizeof(*reg->regexes), schema_cmp_regex);
    if (reg->nnodes > 1)
        qsort(reg->nodes, reg->nnodes, sizeof(*reg->nodes), schema_cmp_nodes);
    for (size_t i = 0; i < reg->nnodes; i++) /* a schema walked twice is kept once */
        if (kept == 0 || reg->nodes[kept - 1].node != reg->nodes[i].node)
            reg->nodes[kept++] = reg->nodes[i];
    reg->nnodes = kept;
    for (size_t i = 0; i < reg->nnodes; i++)
        schema_node_fill(reg, reg->nodes[i].doc, reg->nodes[i].node, &reg->nodes[i]);

    size_t ntypes = 0;
    for (size_t i = 0; i < reg->ndocs; i++)
        schema_collect_types(reg->docs[i].root, 0, NULL, &ntypes);
    reg->types = malloc((ntypes + 1) * sizeof(*reg->types));
    if (!reg->types) {
        saga_err_format(err, errlen, "out of memory");
        return SAGA_ERR_NOMEM;
    }
    for (size_t i = 0; i < reg->ndocs; i++)
        schema_collect_types(reg->docs[i].root, 0, reg->types, &reg->ntypes);
    if (reg->ntypes > 1)
        qsort(reg->types, reg->ntypes, sizeof(*reg->types), schema_cmp_names);
    return SAGA_OK;
}

/* Reads a whole file. *buf is freed by the caller with free(). */
static int schema_read_file(const char *path, char **buf, size_t *len, char *err, size_t errlen)
{
    int rc = saga_file_read(path, SCHEMA_FILE_MAX, buf, len);
    if (rc == SAGA_ERR_NOT_FOUND)
        saga_err_format(err, errlen, "%s: %s", path, strerror(errno));
    else if (rc == SAGA_ERR_TOO_LARGE)
        saga_err_format(err, errlen, "%s: larger than %d bytes", path, SCHEMA_FILE_MAX);
    else if (rc != SAGA_OK)
        saga_err_format(err, errlen, "%s: %s", path,
                       rc == SAGA_ERR_NOMEM ? "out of memory" : "not a readable regular file");
    return rc == SAGA_ERR_NOMEM ? rc : rc ? SAGA_ERR_INVALID : SAGA_OK;
}

/* Lists the names of the non-hidden *.json files of dir, sorted. Caller frees each name
 * and the array with free(). */
static int schema_list_dir(const char *dir, char ***names_out, size_t *n_out, char *err,
                           size_t errlen)
{
    DIR *d = NULL;
    struct dirent *de;
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = SAGA_ERR_INVALID;

    d = opendir(dir);
    if (!d) {
        saga_err_format(err, errlen, "cannot open schema directory %s: %s", dir, strerror(errno));
        goto out;
    }
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);

        if (de->d_name[0] == '.' || len <= 5 || strcmp(de->d_name + len - 5, ".json") != 0)
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            char **grown = realloc(names, ncap * sizeof(*grown));
            if (!grown)
                goto nomem;
            names = grown;
            cap = ncap;
        }
        names[n] = strdup(de->d_name);
        if (!names[n])
            goto nomem;
        n++;
    }
    if (n > 0)
        qsort(names, n, sizeof(*names), schema_cmp_names);
    *names_out = names;
    *n_out = n;
    names = NULL;
    n = 0;
    rc = SAGA_OK;
    goto out;

nomem:
    rc = SAGA_ERR_NOMEM;
    saga_err_format(err, errlen, "out of memory");
out:
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    if (d)
        closedir(d);
    return rc;
}

/* Parses one schema file into *doc (which takes over `name`). */
static int schema_load_file(const char *dir, char *name, schema_doc *doc, char *err, size_t errlen)
{
    char *path = NULL;
    char *text = NULL;
    size_t len = 0, pathlen;
    const char *end = NULL;
    const cJSON *id;
    int rc;

    doc->file = name;
    pathlen = strlen(dir) + 1 + strlen(name) + 1;
    path = malloc(pathlen);
    if (!path) {
        rc = SAGA_ERR_NOMEM;
        saga_err_format(err, errlen, "out of memory");
        goto out;
    }
    snprintf(path, pathlen, "%s/%s", dir, name);
    rc = schema_read_file(path, &text, &len, err, errlen);
    if (rc)
        goto out;
    rc = SAGA_ERR_INVALID;
    doc->root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!doc->root) {
        saga_err_format(err, errlen, "%s: invalid json at byte %zu", name,
                       end && end >= text ? (size_t)(end - text) : (size_t)0);
        goto out;
    }
    while (end < text + len && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
        end++;
    if (end != text + len) {
        saga_err_format(err, errlen, "%s: invalid json at byte %zu: data after the document", name,
                       (size_t)(end - text));
        goto out;
    }
    if (!cJSON_IsObject(doc->root)) {
        saga_err_format(err, errlen, "%s: a schema file must hold a json object", name);
        goto out;
    }
    id = cJSON_GetObjectItemCaseSensitive(doc->root, "$id");
    if (!cJSON_IsString(id) || id->valuestring[0] == '\0' || strchr(id->valuestring, '#')) {
        saga_err_format(err, errlen, "%s: $id must be a non-empty string without '#'", name);
        goto out;
    }
    doc->id = id->valuestring;
    rc = SAGA_OK;

out:
    free(path);
    free(text);
    return rc;
}

int saga_schema_registry_load(const char *dir, saga_schema_registry **out, char *err, size_t errlen)
{
    saga_schema_registry *reg = NULL;
    char **names = NULL;
    size_t nnames = 0, i;
    schema_load l;
    int rc = SAGA_ERR_INVALID;

    if (out)
        *out = NULL;
    if (!dir || !out) {
        saga_err_format(err, errlen, "no schema directory");
        goto out;
    }
    rc = schema_list_dir(dir, &names, &nnames, err, errlen);
    if (rc)
        goto out;
    rc = SAGA_ERR_INVALID;
    if (nnames == 0) {
        saga_err_format(err, errlen, "no *.json schema in %s", dir);
        goto out;
    }
    reg = calloc(1, sizeof(*reg));
    if (reg)
        reg->docs = calloc(nnames, sizeof(*reg->docs));
    if (!reg || !reg->docs) {
        rc = SAGA_ERR_NOMEM;
        saga_err_format(err, errlen, "out of memory");
        goto out;
    }
    for (i = 0; i < nnames; i++) {
        rc = schema_load_file(dir, names[i], &reg->docs[reg->ndocs], err, errlen);
        names[i] = NULL; /* now owned by reg->docs[i] */
        reg->ndocs++;
        if (rc)
            goto out;
        if (schema_find_doc(reg, reg->docs[i].id, strlen(reg->docs[i].id)) != &reg->docs[i]) {
            rc = SAGA_ERR_INVALID;
            saga_err_format(err, errlen, "%s: $id %s is already used by %s", reg->docs[i].file,
                           reg->docs[i].id,
                           schema_find_doc(reg, reg->docs[i].id, strlen(reg->docs[i].id))->file);
            goto out;
        }
    }
    /* All documents are known now, so every $ref can be checked. */
    for (i = 0; i < reg->ndocs; i++) {
        memset(&l, 0, sizeof(l));
        l.reg = reg;
        l.doc = &reg->docs[i];
        l.err = err;
        l.errlen = errlen;
        rc = schema_check(&l, reg->docs[i].root);
        if (rc)
            goto out;
    }
    rc = schema_compile(reg, err, errlen);
    if (rc)
        goto out;
    *out = reg;
    reg = NULL;
    rc = SAGA_OK;

out:
    for (i = 0; i < nnames; i++)
        free(names ? names[i] : NULL);
    free(names);
    saga_schema_registry_free(reg);
    return rc;
}

void saga_schema_registry_free(saga_schema_registry *reg)
{
    if (!reg)
        return;
    for (size_t i = 0; i < reg->nregexes; i++)
        regfree(&reg->regexes[i].re);
    for (size_t i = 0; i < reg->ndocs; i++) {
        cJSON_Delete(reg->docs[i].root);
        free(reg->docs[i].file);
    }
    free(reg->regexes);
    free(reg->nodes);
    free(reg->types);
    free(reg->docs);
    free(reg);
}

/* ---- validate ------------------------------------------------------------------------- */

static int schema_fail(schema_ctx *c, const char *keyword, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes "<path>: <keyword>: <detail>" and returns SAGA_ERR_INVALID. */
static int schema_fail(schema_ctx *c, const char *keyword, const char *fmt, ...)
{
    char detail[384];
    va_list ap;

    if (!c->err || c->errlen == 0)
        return SAGA_ERR_INVALID;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    saga_err_format(c->err, c->errlen, "%s%s: %s: %s", schema_path_str(&c->path),
                   schema_path_more(&c->path), keyword, detail);
    return SAGA_ERR_INVALID;
}

static int schema_validate_node(schema_ctx *c, const schema_doc *doc, const cJSON *s,
                                const cJSON *inst);

static int schema_validate_type(schema_ctx *c, const cJSON *t, const cJSON *inst)
{
    char want[128] = "";
    size_t used = 0;
    const cJSON *name;

    if (cJSON_IsString(t)) {
        if (schema_type_matches(t->valuestring, inst))
            return SAGA_OK;
        return schema_fail(c, "type", "expected %s, got %s", t->valuestring,
                           schema_json_type_name(inst));
    }
    cJSON_ArrayForEach(name, t)
    {
        if (schema_type_matches(name->valuestring, inst))
            return SAGA_OK;
        if (used < sizeof(want))
            used += (size_t)snprintf(want + used, sizeof(want) - used, "%s%s", used ? " or " : "",
                                     name->valuestring);
    }
    return schema_fail(c, "type", "expected %s, got %s", want, schema_json_type_name(inst));
}

static int schema_validate_string(schema_ctx *c, const schema_node *n, const cJSON *inst)
{
    size_t len = n->min_length || n->max_length ? schema_utf8_len(inst->valuestring) : 0;

    if (n->min_length && (double)len < n->min_length->valuedouble)
        return schema_fail(c, "minLength", "length %zu is less than %.0f", len,
                           n->min_length->valuedouble);
    if (n->max_length && (double)len > n->max_length->valuedouble)
        return schema_fail(c, "maxLength", "length %zu is greater than %.0f", len,
                           n->max_length->valuedouble);
    if (n->pattern) {
        if (!n->regex)
            return schema_fail(c, "pattern", "%s was not compiled", n->pattern->valuestring);
        if (regexec(n->regex, inst->valuestring, 0, NULL, 0) != 0)
            return schema_fail(c, "pattern", "does not match %s", n->pattern->valuestring);
    }
    if (n->format == FORMAT_UUID && !schema_is_uuid(inst->valuestring))
        return schema_fail(c, "format", "not a uuid");
    if (n->format == FORMAT_DATE_TIME && !schema_is_date_time(inst->valuestring))
        return schema_fail(c, "format", "not an rfc 3339 date-time");
    return SAGA_OK;
}

static int schema_validate_number(schema_ctx *c, const schema_node *n, const cJSON *inst)
{
    double v = inst->valuedouble;

    for (size_t i = 0; i < LIMITS; i++) {
        const cJSON *kw = n->limits[i];
        double lim;
        bool ok;
        char a[32], b[32];

        if (!kw)
            continue;
        lim = kw->valuedouble;
        if (LIMIT_RULES[i].sign > 0)
            ok = LIMIT_RULES[i].strict ? v > lim : v >= lim;
        else
            ok = LIMIT_RULES[i].strict ? v < lim : v <= lim;
        if (!ok) {
            schema_fmt_num(v, a, sizeof(a));
            schema_fmt_num(lim, b, sizeof(b));
            return schema_fail(c, LIMIT_RULES[i].kw, "%s %s %s", a, LIMIT_RULES[i].fails, b);
        }
    }
    return SAGA_OK;
}

static int schema_validate_array(schema_ctx *c, const schema_node *n, const cJSON *inst)
{
    const cJSON *item, *other;
    size_t count = (size_t)cJSON_GetArraySize(inst), i, j;
    int rc;

    if (n->min_items && (double)count < n->min_items->valuedouble)
        return schema_fail(c, "minItems", "%zu items, fewer than %.0f", count,
                           n->min_items->valuedouble);
    if (n->max_items && (double)count > n->max_items->valuedouble)
        return schema_fail(c, "maxItems", "%zu items, more than %.0f", count,
                           n->max_items->valuedouble);
    if (cJSON_IsTrue(n->unique_items)) {
        i = 0;
        cJSON_ArrayForEach(item, inst)
        {
            j = i + 1;
            for (other = item->next; other; other = other->next, j++)
                if (schema_json_equal(item, other))
                    return schema_fail(c, "uniqueItems", "items %zu and %zu are equal", i, j);
            i++;
        }
    }
    if (n->items) {
        i = 0;
        cJSON_ArrayForEach(item, inst)
        {
            size_t mark = schema_path_push_index(&c->path, i++);
            rc = schema_validate_node(c, n->doc, n->items, item);
            schema_path_pop(&c->path, mark);
            if (rc)
                return rc;
        }
    }
    return SAGA_OK;
}

static int schema_validate_object(schema_ctx *c, const schema_node *n, const cJSON *inst)
{
    const cJSON *name, *member;
    int rc;

    cJSON_ArrayForEach(name, n->required)
    {
        if (!cJSON_GetObjectItemCaseSensitive(inst, name->valuestring))
            return schema_fail(c, "required", "missing property %s", name->valuestring);
    }
    if (!n->properties && !n->additional)
        return SAGA_OK;
    /* One pass in the instance's order, so the first error is the first bad member. */
    cJSON_ArrayForEach(member, inst)
    {
        const cJSON *sub = cJSON_GetObjectItemCaseSensitive(n->properties, member->string);
        size_t mark;

        if (!sub) {
            if (!n->additional)
                continue;
            if (cJSON_IsFalse(n->additional))
                return schema_fail(c, "additionalProperties", "property %s is not allowed",
                                   member->string);
            sub = n->additional;
        }
        mark = schema_path_push(&c->path, member->string);
        rc = schema_validate_node(c, n->doc, sub, member);
        schema_path_pop(&c->path, mark);
        if (rc)
            return rc;
    }
    return SAGA_OK;
}

static int schema_validate_any_of(schema_ctx *c, const schema_node *n, const cJSON *inst)
{
    char first[256] = "";
    char *saved_err = c->err;
    size_t saved_len = c->errlen;
    const cJSON *sub;
    int count = 0, rc = SAGA_ERR_INVALID;

    cJSON_ArrayForEach(sub, n->any_of)
    {
        /* Only the first branch's failure is kept, to explain a miss. */
        c->err = count == 0 && saved_err ? first : NULL;
        c->errlen = sizeof(first);
        rc = schema_validate_node(c, n->doc, sub, inst);
        count++;
        if (rc == SAGA_OK)
            break;
    }
    c->err = saved_err;
    c->errlen = saved_len;
    if (rc == SAGA_OK)
        return SAGA_OK;
    return schema_fail(c, "anyOf", "matches none of %d subschemas (first: %s)", count, first);
}

static int schema_validate_keywords(schema_ctx *c, const schema_node *n, const cJSON *inst)
{
    const cJSON *sub;
    int rc;

    if (n->type && (rc = schema_validate_type(c, n->type, inst)))
        return rc;
    if (n->konst && !schema_json_equal(n->konst, inst)) {
        char want[96];
        schema_fmt_json(n->konst, want, sizeof(want));
        return schema_fail(c, "const", "expected %s", want);
    }
    if (n->enumv) {
        bool found = false;
        cJSON_ArrayForEach(sub, n->enumv)
        {
            if (schema_json_equal(sub, inst)) {
                found = true;
                break;
            }
        }
        if (!found) {
            char want[160];
            schema_fmt_json(n->enumv, want, sizeof(want));
            return schema_fail(c, "enum", "not one of %s", want);
        }
    }
    if (n->ref) {
        if (!n->ref_target)
            return schema_fail(c, "$ref", "unknown schema %s", n->ref->valuestring);
        if ((rc = schema_validate_node(c, n->ref_doc, n->ref_target, inst)))
            return rc;
    }
    cJSON_ArrayForEach(sub, n->all_of)
    {
        if ((rc = schema_validate_node(c, n->doc, sub, inst)))
            return rc;
    }
    if (n->any_of && (rc = schema_validate_any_of(c, n, inst)))
        return rc;
    if (cJSON_IsString(inst))
        return schema_validate_string(c, n, inst);
    if (cJSON_IsNumber(inst))
        return schema_validate_number(c, n, inst);
    if (cJSON_IsArray(inst))
        return schema_validate_array(c, n, inst);
    if (cJSON_IsObject(inst))
        return schema_validate_object(c, n, inst);
    return SAGA_OK;
}

/* Validates inst against schema s, which lives in document doc (for "#..." refs). A
 * schema the load did not walk as one (a $ref into a non-schema place) has its
 * keywords found now. */
static int schema_validate_node(schema_ctx *c, const schema_doc *doc, const cJSON *s,
                                const cJSON *inst)
{
    const schema_node *n;
    schema_node found_now;
    int rc;

    if (cJSON_IsTrue(s))
        return SAGA_OK;
    if (cJSON_IsFalse(s))
        return schema_fail(c, "false schema", "no value is allowed");
    if (c->depth >= SCHEMA_DEPTH_MAX)
        return schema_fail(c, "$ref", "schemas nested deeper than %d", SCHEMA_DEPTH_MAX);
    n = schema_find_node(c->reg, s);
    if (!n) {
        schema_node_fill(c->reg, doc, s, &found_now);
        n = &found_now;
    }
    c->depth++;
    rc = schema_validate_keywords(c, n, inst);
    c->depth--;
    return rc;
}

int saga_schema_validate(const saga_schema_registry *reg, const char *schema_id, const cJSON *doc,
                         char *err, size_t errlen)
{
    schema_ctx c;
    const schema_doc *target_doc = NULL;
    const cJSON *target;

    if (!reg || !schema_id || !doc) {
        saga_err_format(err, errlen, "no registry, schema id or document");
        return SAGA_ERR_INVALID;
    }
    memset(&c, 0, sizeof(c));
    c.reg = reg;
    c.err = err;
    c.errlen = errlen;
    /* An absolute reference, as if the root held {"$ref": schema_id}. */
    target = schema_resolve(reg, NULL, schema_id, &target_doc);
    if (!target) {
        schema_fail(&c, "$ref", "unknown schema %s", schema_id);
        return SAGA_ERR_NOT_FOUND;
    }
    return schema_validate_node(&c, target_doc, target, doc);
}

static int schema_cmp_type(const void *key, const void *elem)
{
    return strcmp(key, *(const char *const *)elem);
}

bool saga_schema_type_known(const saga_schema_registry *reg, const char *event_type)
{
    if (!reg || !event_type)
        return false;
    return bsearch(event_type, reg->types, reg->ntypes, sizeof(*reg->types), schema_cmp_type);
}
