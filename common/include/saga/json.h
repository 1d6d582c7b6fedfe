/* json.h - what cJSON does not write exactly. */
#ifndef SAGA_JSON_H
#define SAGA_JSON_H

#include <stdbool.h>
#include <cjson/cJSON.h>

/* Adds an integer member printed exactly as decimal digits (cJSON keeps numbers as
 * doubles and prints those past 15 digits in exponent form: 9.00719925474099e+15).
 * The item is owned by obj. Returns false on no memory. */
bool saga_json_add_int(cJSON *obj, const char *name, long long v);

#endif
