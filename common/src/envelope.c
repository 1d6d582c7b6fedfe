/* envelope.c - CloudEvents 1.0 structured-JSON envelope: build, print, parse.
 *
 * Ownership of `data`:
 * - built events (saga_event_new): ev->data is owned by the event, ev->doc is NULL;
 * - parsed events (saga_event_parse): ev->doc owns the whole parsed document and
 *   ev->data is BORROWED from it (it is the "data" member of ev->doc, not a copy), so
 *   schema validation of ev->doc and handlers reading ev->data see the same tree.
 * saga_event_free deletes ev->doc, and deletes ev->data separately only when it is not
 * the "data" member of ev->doc (a built event, or a caller that replaced ev->data). A
 * caller that wants to keep the data of a parsed event beyond the event duplicates it
 * (cJSON_Duplicate) or detaches it from ev->doc first and sets ev->data to NULL.
 *
 * Parsing rejects a JSON document that repeats a member name in any object: cJSON
 * would read the first occurrence and most other parsers the last, so a message with
 * duplicates could mean one thing to us and another to a downstream tool. */
#include "saga/envelope.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "saga/err.h"
#include "saga/jsonscan.h"

#define ENVELOPE_SPECVERSION "1.0"
#define ENVELOPE_CONTENT_TYPE "application/json"

/* Builds "urn:saga:schema:<type>:1". Caller frees with free(). NULL on no memory. */
static char *envelope_dataschema(const char *type)
{
    static const char prefix[] = "urn:saga:schema:";
    static const char suffix[] = ":1";
    size_t len = sizeof(prefix) - 1 + strlen(type) + sizeof(suffix) - 1 + 1;
    char *s = malloc(len);

    if (s)
        snprintf(s, len, "%s%s%s", prefix, type, suffix);
    return s;
}

saga_event *saga_event_new(const char *type, const char *source, const char *subject,
                           const char *correlationid, const char *causationid, cJSON *data)
{
    char id[SAGA_UUID_LEN + 1];
    char now[SAGA_TIME_LEN + 1];
    saga_event *ev = NULL;

    if (!type || !source || !subject)
        goto fail;
    if (!data) {
        data = cJSON_CreateObject();
        if (!data)
            goto fail;
    }
    ev = calloc(1, sizeof(*ev));
    if (!ev)
        goto fail;
    ev->data = data;
    data = NULL; /* now owned by ev */

    saga_uuid_v7(id);
    saga_time_now(now);
    ev->id = strdup(id);
    ev->time = strdup(now);
    ev->type = strdup(type);
    ev->source = strdup(source);
    ev->subject = strdup(subject);
    ev->dataschema = envelope_dataschema(type);
    if (!ev->id || !ev->time || !ev->type || !ev->source || !ev->subject || !ev->dataschema)
        goto fail;
    if (correlationid && !(ev->correlationid = strdup(correlationid)))
        goto fail;
    if (causationid && !(ev->causationid = strdup(causationid)))
        goto fail;
    return ev;

fail:
    cJSON_Delete(data);
    saga_event_free(ev);
    return NULL;
}

char *saga_event_print(const saga_event *ev)
{
    cJSON *root = NULL;
    char *text = NULL;

    if (!ev)
        goto out;
    root = cJSON_CreateObject();
    if (!root)
        goto out;
    if (!cJSON_AddStringToObject(root, "specversion", ENVELOPE_SPECVERSION) ||
        !cJSON_AddStringToObject(root, "id", ev->id ? ev->id : "") ||
        !cJSON_AddStringToObject(root, "source", ev->source ? ev->source : "") ||
        !cJSON_AddStringToObject(root, "type", ev->type ? ev->type : "") ||
        !cJSON_AddStringToObject(root, "time", ev->time ? ev->time : "") ||
        !cJSON_AddStringToObject(root, "subject", ev->subject ? ev->subject : "") ||
        !cJSON_AddStringToObject(root, "datacontenttype", ENVELOPE_CONTENT_TYPE))
        goto out;
    if (ev->dataschema && !cJSON_AddStringToObject(root, "dataschema", ev->dataschema))
        goto out;
    if (ev->correlationid && !cJSON_AddStringToObject(root, "correlationid", ev->correlationid))
        goto out;
    if (ev->causationid && !cJSON_AddStringToObject(root, "causationid", ev->causationid))
        goto out;
    /* A reference: printed like the item, not freed with root (ev keeps ownership). */
    if (ev->data && !cJSON_AddItemReferenceToObject(root, "data", ev->data))
        goto out;
    text = cJSON_PrintUnformatted(root);

out:
    cJSON_Delete(root);
    return text;
}

static int envelope_cmp_names(const void *a, const void *b)
{
    const char *const *x = a;
    const char *const *y = b;

    return strcmp(*x, *y);
}

/* Returns the first repeated member name found in any object under item, or NULL.
 * *nomem is set when the check could not run. The name is borrowed from item. */
static const char *envelope_find_duplicate(const cJSON *item, int *nomem)
{
    const char **names = NULL;
    const char *dup = NULL;
    const cJSON *child;
    size_t n = 0, i;

    if (!cJSON_IsObject(item) && !cJSON_IsArray(item))
        return NULL;
    cJSON_ArrayForEach(child, item)
    {
        n++;
    }
    if (cJSON_IsObject(item) && n > 1) {
        names = malloc(n * sizeof(*names));
        if (!names) {
            *nomem = 1;
            goto out;
        }
        i = 0;
        cJSON_ArrayForEach(child, item)
        {
            names[i++] = child->string ? child->string : "";
        }
        qsort(names, n, sizeof(*names), envelope_cmp_names);
        for (i = 1; i < n; i++) {
            if (strcmp(names[i - 1], names[i]) == 0) {
                dup = names[i];
                goto out;
            }
        }
    }
    cJSON_ArrayForEach(child, item)
    {
        dup = envelope_find_duplicate(child, nomem);
        if (dup || *nomem)
            goto out;
    }

out:
    free(names);
    return dup;
}

/* Copies the string attribute `name` of doc into *dst (NULL when absent and optional).
 * Returns SAGA_OK, SAGA_ERR_INVALID (reason in err) or SAGA_ERR_NOMEM. */
static int envelope_get_attr(const cJSON *doc, const char *name, int required, char **dst,
                             char *err, size_t errlen)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(doc, name);

    if (!item) {
        if (!required)
            return SAGA_OK;
        saga_err_format(err, errlen, "missing attribute: %s", name);
        return SAGA_ERR_INVALID;
    }
    if (!cJSON_IsString(item) || !item->valuestring) {
        saga_err_format(err, errlen, "attribute %s must be a string", name);
        return SAGA_ERR_INVALID;
    }
    if (required && item->valuestring[0] == '\0') {
        saga_err_format(err, errlen, "attribute %s must not be empty", name);
        return SAGA_ERR_INVALID;
    }
    *dst = strdup(item->valuestring);
    if (!*dst) {
        saga_err_format(err, errlen, "out of memory");
        return SAGA_ERR_NOMEM;
    }
    return SAGA_OK;
}

int saga_event_parse(const char *buf, size_t len, saga_event **out, char *err, size_t errlen)
{
    cJSON *doc = NULL;
    saga_event *ev = NULL;
    const cJSON *item;
    const char *end = NULL;
    const char *dup;
    int nomem = 0;
    int rc = SAGA_ERR_INVALID;

    if (out)
        *out = NULL;
    if (!out) {
        saga_err_format(err, errlen, "no output pointer");
        goto out;
    }
    if (!buf || len == 0) {
        saga_err_format(err, errlen, "invalid json at byte 0: empty body");
        goto out;
    }
    /* buf is not NUL-terminated: cJSON reads at most len bytes and reports where it
     * stopped through `end` (cJSON_GetErrorPtr is a global, so not used). */
    doc = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
    if (!doc) {
        saga_err_format(err, errlen, "invalid json at byte %zu",
                         end && end >= buf ? (size_t)(end - buf) : (size_t)0);
        goto out;
    }
    while (end < buf + len && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
        end++;
    if (end != buf + len) {
        saga_err_format(err, errlen, "invalid json at byte %zu: data after the document",
                         (size_t)(end - buf));
        goto out;
    }
    /* cJSON cuts a string at a NUL: "alice\u0000evil" would be read as alice */
    char where[128];
    if (saga_json_find_nul(buf, len, where, sizeof(where))) {
        saga_err_format(err, errlen, "invalid json: a NUL character (\\u0000) in the string at %s",
                         where[0] ? where : "the top level");
        goto out;
    }
    if (!cJSON_IsObject(doc)) {
        saga_err_format(err, errlen, "event must be a json object");
        goto out;
    }
    dup = envelope_find_duplicate(doc, &nomem);
    if (nomem) {
        rc = SAGA_ERR_NOMEM;
        saga_err_format(err, errlen, "out of memory");
        goto out;
    }
    if (dup) {
        saga_err_format(err, errlen, "duplicate key: %s", dup);
        goto out;
    }

    item = cJSON_GetObjectItemCaseSensitive(doc, "specversion");
    if (!item) {
        saga_err_format(err, errlen, "missing attribute: specversion");
        goto out;
    }
    if (!cJSON_IsString(item) || strcmp(item->valuestring, ENVELOPE_SPECVERSION) != 0) {
        saga_err_format(err, errlen, "specversion must be " ENVELOPE_SPECVERSION);
        goto out;
    }

    ev = calloc(1, sizeof(*ev));
    if (!ev) {
        rc = SAGA_ERR_NOMEM;
        saga_err_format(err, errlen, "out of memory");
        goto out;
    }
    if ((rc = envelope_get_attr(doc, "id", 1, &ev->id, err, errlen)) ||
        (rc = envelope_get_attr(doc, "source", 1, &ev->source, err, errlen)) ||
        (rc = envelope_get_attr(doc, "type", 1, &ev->type, err, errlen)) ||
        (rc = envelope_get_attr(doc, "time", 1, &ev->time, err, errlen)) ||
        (rc = envelope_get_attr(doc, "subject", 1, &ev->subject, err, errlen)))
        goto out;
    rc = SAGA_ERR_INVALID;

    /* Optional in CloudEvents; when present the data must be JSON (structured mode). */
    item = cJSON_GetObjectItemCaseSensitive(doc, "datacontenttype");
    if (item && (!cJSON_IsString(item) || strcmp(item->valuestring, ENVELOPE_CONTENT_TYPE))) {
        saga_err_format(err, errlen, "datacontenttype must be " ENVELOPE_CONTENT_TYPE);
        goto out;
    }
    if ((rc = envelope_get_attr(doc, "dataschema", 0, &ev->dataschema, err, errlen)) ||
        (rc = envelope_get_attr(doc, "correlationid", 0, &ev->correlationid, err, errlen)) ||
        (rc = envelope_get_attr(doc, "causationid", 0, &ev->causationid, err, errlen)))
        goto out;
    rc = SAGA_ERR_INVALID;

    item = cJSON_GetObjectItemCaseSensitive(doc, "data");
    if (!item) {
        saga_err_format(err, errlen, "missing attribute: data");
        goto out;
    }
    if (!cJSON_IsObject(item)) {
        saga_err_format(err, errlen, "data must be an object");
        goto out;
    }
    ev->data = (cJSON *)item; /* borrowed from doc, see the top of this file */
    ev->doc = doc;
    doc = NULL; /* now owned by ev */
    *out = ev;
    ev = NULL;
    rc = SAGA_OK;

out:
    cJSON_Delete(doc);
    saga_event_free(ev);
    return rc;
}

void saga_event_free(saga_event *ev)
{
    if (!ev)
        return;
    /* data is freed on its own only when it is not the "data" member of doc. */
    if (ev->data && (!ev->doc || cJSON_GetObjectItemCaseSensitive(ev->doc, "data") != ev->data))
        cJSON_Delete(ev->data);
    cJSON_Delete(ev->doc);
    free(ev->id);
    free(ev->source);
    free(ev->type);
    free(ev->time);
    free(ev->subject);
    free(ev->dataschema);
    free(ev->correlationid);
    free(ev->causationid);
    free(ev);
}
