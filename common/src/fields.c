/* fields.c - reading fields of a JSON request body (see fields.h). */
#include "saga/fields.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

bool saga_field_string(const cJSON *obj, const char *name, bool required, size_t minlen,
                       size_t maxlen, const char **out, saga_http_resp *resp)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    *out = NULL;
    if (!v || cJSON_IsNull(v)) {
        if (required)
            return saga_http_reply_field(resp, 400, name, "%s is required", name);
        return true;
    }
    if (!cJSON_IsString(v))
        return saga_http_reply_field(resp, 400, name, "%s must be a string", name);
    size_t len = strlen(v->valuestring);
    if (len < minlen || len > maxlen)
        return saga_http_reply_field(resp, 400, name, "%s must be %zu to %zu characters long", name,
                                     minlen, maxlen);
    *out = v->valuestring;
    return true;
}

bool saga_field_int(const cJSON *obj, const char *name, bool required, long long min, long long max,
                    long long *out, saga_http_resp *resp)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!v || cJSON_IsNull(v)) {
        if (required)
            return saga_http_reply_field(resp, 400, name, "%s is required", name);
        return true;
    }
    double d = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    if (!cJSON_IsNumber(v) || d != floor(d) || d < (double)min || d > (double)max)
        return saga_http_reply_field(resp, 400, name, "%s must be an integer from %lld to %lld",
                                     name, min, max);
    *out = (long long)d;
    return true;
}

bool saga_field_bool(const cJSON *obj, const char *name, bool required, bool *out,
                     saga_http_resp *resp)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!v || cJSON_IsNull(v)) {
        if (required)
            return saga_http_reply_field(resp, 400, name, "%s is required", name);
        return true;
    }
    if (!cJSON_IsBool(v))
        return saga_http_reply_field(resp, 400, name, "%s must be true or false", name);
    *out = cJSON_IsTrue(v);
    return true;
}

bool saga_field_array(const cJSON *obj, const char *name, bool required, int minlen, int maxlen,
                      const cJSON **out, saga_http_resp *resp)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    *out = NULL;
    if (!v || cJSON_IsNull(v)) {
        if (required)
            return saga_http_reply_field(resp, 400, name, "%s is required", name);
        return true;
    }
    if (!cJSON_IsArray(v))
        return saga_http_reply_field(resp, 400, name, "%s must be an array", name);
    int n = cJSON_GetArraySize(v);
    if (n < minlen || n > maxlen)
        return saga_http_reply_field(resp, 400, name, "%s must have %d to %d elements", name,
                                     minlen, maxlen);
    *out = v;
    return true;
}

bool saga_field_object(const cJSON *body, const char *const *allowed, saga_http_resp *resp)
{
    const cJSON *member;
    if (!cJSON_IsObject(body))
        return saga_http_reply_field(resp, 400, NULL, "the request body must be a JSON object");
    cJSON_ArrayForEach(member, body)
    {
        bool known = false;
        for (size_t i = 0; allowed && allowed[i]; i++)
            known = known || strcmp(member->string, allowed[i]) == 0;
        if (!known)
            return saga_http_reply_field(resp, 400, member->string, "unknown field %s",
                                         member->string);
    }
    return true;
}
