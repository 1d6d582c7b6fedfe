/* sql_names.h - which table a statement's text names (prefetch.c, write_batch.c). */
#ifndef SAGA_SQL_NAMES_H
#define SAGA_SQL_NAMES_H

#include <stdbool.h>

/* Whether sql names table as a word: "orders" is not in "known_orders". May say
 * yes where a column or a string has the name: use it only where a yes too many
 * costs time, never correctness. */
bool sql_names_table(const char *sql, const char *table);

#endif
