/* handler.c - what the services' event handlers share (see handler.h). */
#include "saga/handler.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>

#include "saga/err.h"

int saga_event_reject(saga_msg_meta *meta, const char *fmt, ...)
{
    va_list ap;

    if (meta && meta->err && meta->errlen) {
        va_start(ap, fmt);
        vsnprintf(meta->err, meta->errlen, fmt, ap);
        va_end(ap);
    }
    return SAGA_ERR_INVALID;
}

int saga_event_db_failed(saga_db *db, saga_msg_meta *meta, int rc, const char *what)
{
    if (meta && meta->err && meta->errlen)
        snprintf(meta->err, meta->errlen, "%s: %s (%s)", what, saga_rc_str(rc), saga_db_error(db));
    return rc;
}

const char *saga_data_str(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

bool saga_data_int(const cJSON *obj, const char *name, long long min, long long max, long long *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
        v->valuedouble < (double)min || v->valuedouble > (double)max)
        return false;
    *out = (long long)v->valuedouble;
    return true;
}
