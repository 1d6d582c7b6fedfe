/* db_bulk.c - one statement over many parameter rows in one round trip (see
 * db_bulk.h). */
#include "db_bulk.h"

#include <stdlib.h>
#include <mysql.h>

#include "saga/err.h"
#include "db_stmt.h"

/* most parameters of a statement run in bulk (more: one execution per row) */
#define BULK_PARAMS_MAX 32

/* Whether the server runs a statement over an array of parameter rows at once
 * (MariaDB since 10.2; not MySQL). */
static bool bulk_supported(saga_db *db)
{
    MYSQL *mysql = db_stmt_mysql(db);
    unsigned long caps = 0, ext = 0;
    if (mariadb_get_infov(mysql, MARIADB_CONNECTION_SERVER_CAPABILITIES, &caps) ||
        mariadb_get_infov(mysql, MARIADB_CONNECTION_EXTENDED_SERVER_CAPABILITIES, &ext))
        return false;
    return !(caps & CLIENT_MYSQL) && (ext & (MARIADB_CLIENT_STMT_BULK_OPERATIONS >> 32));
}

/* The type column col binds in all rows: NULL if every row's is; false if two rows
 * bind different non-NULL types, or an id is not one (each row alone then fails as
 * it should). */
static bool column_type(const saga_param *const *rows, size_t nrows, size_t col,
                        saga_param_type *type)
{
    *type = SAGA_PARAM_NULL;
    for (size_t r = 0; r < nrows; r++) {
        saga_param_type t = rows[r][col].type;
        if (t == SAGA_PARAM_NULL)
            continue;
        if ((*type != SAGA_PARAM_NULL && *type != t) || (t == SAGA_PARAM_UUID && !rows[r][col].i64))
            return false;
        *type = t;
    }
    return true;
}

static int exec_each(saga_db *db, const char *sql, const saga_param *const *rows, size_t nrows,
                     size_t nparams, uint64_t *affected)
{
    MYSQL_STMT *stmt = NULL;
    for (size_t r = 0; r < nrows; r++) {
        int rc = db_stmt_run(db, sql, rows[r], nparams, &stmt);
        if (rc)
            return rc;
        *affected += mysql_stmt_affected_rows(stmt);
    }
    return SAGA_OK;
}

/* Column-wise array binding: bind i's buffer holds column i's nrows values (an
 * array of integers, or of pointers with an array of lengths), its indicators mark
 * the NULLs. */
typedef struct bulk_arrays {
    MYSQL_BIND *binds;
    long long *i64;
    const void **ptr;
    unsigned long *len;
    char *ind;
} bulk_arrays;

static void *bulk_arrays_new(bulk_arrays *a, size_t nrows, size_t nparams)
{
    size_t cells = nrows * nparams;
    size_t cell_bytes = sizeof(long long) + sizeof(void *) + sizeof(unsigned long) + 1;
    char *block = calloc(1, nparams * sizeof(MYSQL_BIND) + cells * cell_bytes);
    if (!block)
        return NULL;
    a->binds = (MYSQL_BIND *)block;
    a->i64 = (long long *)(a->binds + nparams);
    a->ptr = (const void **)(a->i64 + cells);
    a->len = (unsigned long *)(a->ptr + cells);
    a->ind = (char *)(a->len + cells);
    return block;
}

static void bulk_bind_column(bulk_arrays *a, const saga_param *const *rows, size_t nrows,
                             size_t col, saga_param_type type)
{
    MYSQL_BIND *b = &a->binds[col];
    size_t at = col * nrows;

    for (size_t r = 0; r < nrows; r++) {
        const saga_param *p = &rows[r][col];
        a->ind[at + r] = p->type == SAGA_PARAM_NULL ? STMT_INDICATOR_NULL : STMT_INDICATOR_NONE;
        a->i64[at + r] = p->i64;
        a->ptr[at + r] = type == SAGA_PARAM_UUID ? (const void *)p->uuid : p->ptr;
        a->len[at + r] = type == SAGA_PARAM_UUID ? sizeof(p->uuid) : (unsigned long)p->len;
    }
    b->u.indicator = &a->ind[at];
    if (type == SAGA_PARAM_STR || type == SAGA_PARAM_BLOB || type == SAGA_PARAM_UUID) {
        b->buffer_type = type == SAGA_PARAM_STR ? MYSQL_TYPE_STRING : MYSQL_TYPE_BLOB;
        b->buffer = (void *)&a->ptr[at];
        b->length = &a->len[at];
    } else { /* integers; a column of NULLs binds as integers marked NULL */
        b->buffer_type = MYSQL_TYPE_LONGLONG;
        b->buffer = &a->i64[at];
    }
}

int db_exec_bulk(saga_db *db, const char *sql, const saga_param *const *rows, size_t nrows,
                 size_t nparams, uint64_t *affected)
{
    MYSQL_STMT *stmt = NULL;
    bulk_arrays a;
    saga_param_type types[BULK_PARAMS_MAX];
    int rc;

    *affected = 0;
    if ((rc = db_stmt_connect(db)))
        return rc;
    bool alike = nparams > 0 && nparams <= BULK_PARAMS_MAX;
    for (size_t col = 0; col < nparams && alike; col++)
        alike = column_type(rows, nrows, col, &types[col]);
    if (nrows < 2 || !alike || !bulk_supported(db))
        return exec_each(db, sql, rows, nrows, nparams, affected);
    if ((rc = db_stmt_get(db, sql, &stmt)))
        return rc;
    if ((rc = db_stmt_param_count_check(db, stmt, nparams)))
        return rc;
    void *block = bulk_arrays_new(&a, nrows, nparams);
    if (!block)
        return SAGA_ERR_NOMEM;
    for (size_t col = 0; col < nparams; col++)
        bulk_bind_column(&a, rows, nrows, col, types[col]);
    unsigned int size = (unsigned int)nrows;
    mysql_stmt_attr_set(stmt, STMT_ATTR_ARRAY_SIZE, &size);
    if (mysql_stmt_bind_param(stmt, a.binds) != 0 || mysql_stmt_execute(stmt) != 0)
        rc = db_stmt_fail(db, stmt);
    else
        *affected = mysql_stmt_affected_rows(stmt);
    size = 0; /* the cached statement runs single rows again */
    mysql_stmt_attr_set(stmt, STMT_ATTR_ARRAY_SIZE, &size);
    free(block);
    return rc;
}
