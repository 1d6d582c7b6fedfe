/* sql_names.h - which table a statement's text names (prefetch.c, write_batch.c). */
#ifndef SAGA_SQL_NAMES_H
#define SAGA_SQL_NAMES_H

#include <stdbool.h>
#include <stddef.h>

/* Whether sql names table as a word: "orders" is not in "known_orders". May say
 * yes where a column or a string has the name: use it only where a yes too many
 * costs time, never correctness. */
bool sql_names_table(const char *sql, const char *table);

/* Copies the table name that follows the first `word` ("INTO ", "UPDATE ") in sql
 * into out; false if there is none or it does not fit. */
bool sql_names_table_after(const char *sql, const char *word, char *out, size_t outlen);

#endif
