/* db_stmt.h - db.c's connection and cached prepared statements, for the other
 * files of the database layer that run statements their own way (db_bulk.c). */
#ifndef SAGA_DB_STMT_H
#define SAGA_DB_STMT_H

#include <stddef.h>
#include <mysql.h>

#include "saga/db.h"

/* Makes sure db has a live connection, reconnecting outside a transaction.
 * SAGA_ERR_TRANSIENT if it was lost in one. */
int db_stmt_connect(saga_db *db);

/* db's connection; only after db_stmt_connect succeeded. */
MYSQL *db_stmt_mysql(saga_db *db);

/* The cached statement for sql, prepared if new (owned by db's cache). */
int db_stmt_get(saga_db *db, const char *sql, MYSQL_STMT **out);

/* SAGA_OK if stmt takes nparams parameters; SAGA_ERR_INTERNAL (a bug) otherwise. */
int db_stmt_param_count_check(saga_db *db, MYSQL_STMT *stmt, size_t nparams);

/* Connects if needed, prepares (or reuses), binds and executes sql: *out is the
 * executed statement, its result not yet read. Runs no interceptor. */
int db_stmt_run(saga_db *db, const char *sql, const saga_param *params, size_t nparams,
                MYSQL_STMT **out);

/* Records stmt's error as db's (saga_db_error) and returns its code. */
int db_stmt_fail(saga_db *db, MYSQL_STMT *stmt);

#endif
