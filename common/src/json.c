/* json.c - what cJSON does not write exactly (see json.h). */
#include "saga/json.h"

#include <stdio.h>

bool saga_json_add_int(cJSON *obj, const char *name, long long v)
{
    char text[24]; /* "-9223372036854775808" */
    snprintf(text, sizeof(text), "%lld", v);
    return cJSON_AddRawToObject(obj, name, text) != NULL;
}
