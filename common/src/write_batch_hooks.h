/* write_batch_hooks.h - where db.c lets the attached write batch (see
 * saga/write_batch.h) go in before a statement. */
#ifndef SAGA_WRITE_BATCH_HOOKS_H
#define SAGA_WRITE_BATCH_HOOKS_H

#include "saga/db.h"

/* A statement is about to run on db: if the write batch attached to db in this
 * thread keeps rows for a table sql names, writes them first (so that the statement
 * sees them). Returns SAGA_OK or the flush's error. */
int write_batch_before(saga_db *db, const char *sql);

#endif
