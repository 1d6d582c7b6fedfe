/* prefetch_hooks.h - where db.c consults the rows saga_db_prefetch kept (see
 * saga/prefetch.h). All are cheap no-ops when nothing is kept for db in the
 * calling thread. */
#ifndef SAGA_PREFETCH_HOOKS_H
#define SAGA_PREFETCH_HOOKS_H

#include <stdbool.h>

#include "saga/db.h"

/* A statement for a kept key of a declared point read: calls fn for its rows and
 * returns true, with *rc what saga_db_query returns. False: run the statement. */
bool prefetch_answer(const saga_db *db, const char *sql, const saga_param *params,
                     size_t nparams, saga_row_fn fn, void *ud, int *rc);

/* A write was run on db: drops the kept rows it may have changed. */
void prefetch_written(const saga_db *db, const char *sql, const saga_param *params,
                      size_t nparams);

/* db's transaction ended (or its connection): drops everything kept for it. */
void prefetch_end(const saga_db *db);

#endif
