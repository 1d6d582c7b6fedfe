/* schema.h - JSON Schema validation of consumed events.
 *
 * All *.json files of a directory are loaded at start; each is known by its "$id".
 * The subset of JSON Schema (draft 2020-12) covered: type (incl. arrays of types),
 * properties, required, additionalProperties (boolean or schema), items, minItems,
 * maxItems, uniqueItems, enum, const, minLength, maxLength, pattern (POSIX extended
 * regex), format ("uuid", "date-time"), minimum, maximum, exclusiveMinimum,
 * exclusiveMaximum, allOf, anyOf, $ref (to another schema's $id, or "#/$defs/..."
 * inside one), $defs. A schema using another keyword fails to load. */
#ifndef SAGA_SCHEMA_H
#define SAGA_SCHEMA_H

#include <stddef.h>
#include <stdbool.h>
#include <cjson/cJSON.h>

typedef struct saga_schema_registry saga_schema_registry;

/* Loads every *.json under dir. Returns SAGA_OK and *out (free with
 * saga_schema_registry_free), or SAGA_ERR_INVALID with the file and the problem in err. */
int saga_schema_registry_load(const char *dir, saga_schema_registry **out, char *err,
                              size_t errlen);
void saga_schema_registry_free(saga_schema_registry *reg);

/* Validates doc against the schema whose $id is schema_id. Returns SAGA_OK;
 * SAGA_ERR_NOT_FOUND if no such schema; SAGA_ERR_INVALID with the failing instance
 * path and keyword in err, e.g. "/data/items/0/quantity: minimum: 0 is less than 1".
 * Thread-safe (the registry is read-only after load). */
int saga_schema_validate(const saga_schema_registry *reg, const char *schema_id, const cJSON *doc,
                         char *err, size_t errlen);

/* True if some loaded schema describes events of this type (its "type" property
 * has a "const" equal to it). Tells an unknown type from an unknown version. */
bool saga_schema_type_known(const saga_schema_registry *reg, const char *event_type);

#endif
