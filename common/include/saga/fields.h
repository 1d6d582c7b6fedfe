/* fields.h - reading fields of a JSON request body.
 *
 * Each function checks one field and, when it is missing or wrong, answers the
 * request itself with a 400 application/problem+json whose detail and "field"
 * member name the field, then returns false: the handler just returns.
 *
 *     const char *sku;
 *     if (!saga_field_string(body, "sku", true, 1, 64, &sku, resp))
 *         return;
 *
 * Field paths in messages are the caller's `name` ("items[2].quantity"). */
#ifndef SAGA_FIELDS_H
#define SAGA_FIELDS_H

#include <stdbool.h>
#include <stddef.h>
#include <cjson/cJSON.h>

#include "saga/http.h"

/* A string of minlen..maxlen bytes. *out borrows from obj; NULL when absent and
 * not required. */
bool saga_field_string(const cJSON *obj, const char *name, bool required, size_t minlen,
                       size_t maxlen, const char **out, saga_http_resp *resp);

/* An integer (a JSON number without fraction) in [min, max]; *out untouched when
 * absent and not required. */
bool saga_field_int(const cJSON *obj, const char *name, bool required, long long min, long long max,
                    long long *out, saga_http_resp *resp);

/* A boolean; *out untouched when absent and not required. */
bool saga_field_bool(const cJSON *obj, const char *name, bool required, bool *out,
                     saga_http_resp *resp);

/* An array of minlen..maxlen elements; *out borrows; NULL when absent and not required. */
bool saga_field_array(const cJSON *obj, const char *name, bool required, int minlen, int maxlen,
                      const cJSON **out, saga_http_resp *resp);

/* The body must be a JSON object with no members other than `allowed` (NULL-ended). */
bool saga_field_object(const cJSON *body, const char *const *allowed, saga_http_resp *resp);

#endif
