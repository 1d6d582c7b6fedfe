/* db_bulk.h - one statement over many parameter rows in one round trip, for the
 * write batch (see saga/write_batch.h). */
#ifndef SAGA_DB_BULK_H
#define SAGA_DB_BULK_H

#include <stddef.h>
#include <stdint.h>

#include "saga/db.h"

/* Runs sql once for each of the nrows parameter rows (rows[i] points to row i's
 * nparams parameters), in that order, with MariaDB's bulk execution: one round
 * trip for all of them. Against a server without it (MySQL), or when a column's
 * rows bind different types, it runs them one by one. *affected gets the rows
 * changed in all. Results as saga_db_exec; it runs no interceptor of db (its
 * caller, the write batch, is one, and has told the others when it kept the
 * statements). */
int db_exec_bulk(saga_db *db, const char *sql, const saga_param *const *rows, size_t nrows,
                 size_t nparams, uint64_t *affected);

#endif
