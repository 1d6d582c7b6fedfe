/* write_batch.c - rows kept during a transaction, inserted together (see
 * write_batch.h). */
#include "saga/write_batch.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "saga/err.h"
#include "prefetch_hooks.h"
#include "sql_names.h"
#include "write_batch_hooks.h"

/* Most rows in one INSERT; groups are powers of two up to this. */
#define GROUP_MAX 64
/* Most parameters of one row. */
#define ROW_PARAMS_MAX 16
/* Longest statement: the head plus GROUP_MAX rows and commas. */
#define SQL_MAX 8192
/* Most tables the kept rows of one batch go to. */
#define TABLES_MAX 16
#define TABLE_NAME_MAX 64

typedef struct kept_row {
    const char *insert; /* by pointer: a constant */
    const char *row;
    size_t nparams;
    saga_param params[ROW_PARAMS_MAX]; /* STR and BLOB data owned (malloc'd copies) */
    bool flushed;
} kept_row;

struct saga_write_batch {
    kept_row *rows;
    size_t n, cap;
    /* the tables the kept rows go to: a statement naming one flushes them first */
    char tables[TABLES_MAX][TABLE_NAME_MAX];
    size_t ntables;
    bool flushing;
    bool failed; /* a flush failed other than transiently since the last discard */
};

/* The batch attached in this thread, and the connection it is attached to. */
static _Thread_local saga_write_batch *attached_batch;
static _Thread_local const saga_db *attached_db;

saga_write_batch *saga_write_batch_new(void)
{
    return calloc(1, sizeof(saga_write_batch));
}

static void kept_row_clear(kept_row *r)
{
    for (size_t i = 0; i < r->nparams; i++)
        if (r->params[i].type == SAGA_PARAM_STR || r->params[i].type == SAGA_PARAM_BLOB)
            free((void *)r->params[i].ptr);
    r->nparams = 0;
}

/* Drops the kept rows (the failed flag stays until saga_write_batch_discard). */
static void rows_drop(saga_write_batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        kept_row_clear(&b->rows[i]);
    b->n = 0;
    b->ntables = 0;
}

void saga_write_batch_discard(saga_write_batch *b)
{
    if (!b)
        return;
    rows_drop(b);
    b->failed = false;
}

bool saga_write_batch_failed(const saga_write_batch *b)
{
    return b && b->failed;
}

void saga_write_batch_free(saga_write_batch *b)
{
    if (!b)
        return;
    saga_write_batch_discard(b);
    if (attached_batch == b)
        saga_write_batch_attach(NULL, NULL);
    free(b->rows);
    free(b);
}

void saga_write_batch_attach(saga_db *db, saga_write_batch *b)
{
    attached_batch = db ? b : NULL;
    attached_db = b ? db : NULL;
}

/* Remembers the table "INSERT [IGNORE] INTO t ..." goes to. False if it cannot be
 * read or there are too many: then the row is not kept (inserted at once). */
static bool table_note(saga_write_batch *b, const char *insert)
{
    const char *at = strstr(insert, "INTO ");
    char name[TABLE_NAME_MAX];
    size_t len = 0;

    if (!at)
        return false;
    for (at += 5; len + 1 < sizeof(name) && (isalnum((unsigned char)at[len]) || at[len] == '_');
         len++)
        name[len] = at[len];
    name[len] = '\0';
    if (len == 0 || len + 1 == sizeof(name))
        return false;
    for (size_t i = 0; i < b->ntables; i++)
        if (strcmp(b->tables[i], name) == 0)
            return true;
    if (b->ntables == TABLES_MAX)
        return false;
    memcpy(b->tables[b->ntables++], name, len + 1);
    return true;
}

/* Keeps a copy of one row in b. */
static int keep_row(saga_write_batch *b, const char *insert, const char *row,
                    const saga_param *params, size_t nparams)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 64;
        kept_row *rows = realloc(b->rows, cap * sizeof(*rows));
        if (!rows)
            return SAGA_ERR_NOMEM;
        b->rows = rows;
        b->cap = cap;
    }
    kept_row *k = &b->rows[b->n];
    *k = (kept_row){.insert = insert, .row = row};
    for (size_t i = 0; i < nparams; i++) {
        saga_param p = params[i];
        if ((p.type == SAGA_PARAM_STR || p.type == SAGA_PARAM_BLOB) && p.ptr) {
            void *copy = malloc(p.len + 1);
            if (!copy) {
                kept_row_clear(k);
                return SAGA_ERR_NOMEM;
            }
            memcpy(copy, p.ptr, p.len);
            ((char *)copy)[p.len] = '\0';
            p.ptr = copy;
        }
        k->params[k->nparams++] = p;
    }
    b->n++;
    return SAGA_OK;
}

int saga_db_insert(saga_db *db, const char *insert, const char *row, const saga_param *params,
                   size_t nparams)
{
    if (nparams > ROW_PARAMS_MAX)
        return SAGA_ERR_INVALID;
    if (attached_batch && attached_db == db && !attached_batch->flushing &&
        table_note(attached_batch, insert)) {
        /* a batch-wide read of that table kept earlier may not show this row */
        prefetch_written(db, insert, params, nparams);
        return keep_row(attached_batch, insert, row, params, nparams);
    }
    char sql[SQL_MAX];
    if ((size_t)snprintf(sql, sizeof(sql), "%s%s", insert, row) >= sizeof(sql))
        return SAGA_ERR_INVALID;
    return saga_db_exec(db, sql, params, nparams, NULL, NULL);
}

/* One INSERT of the n rows (same shape) at rows[at[0]], rows[at[1]], ... */
static int insert_group(saga_db *db, const kept_row *rows, const size_t *at, size_t n)
{
    char sql[SQL_MAX];
    saga_param params[GROUP_MAX * ROW_PARAMS_MAX];
    size_t len = (size_t)snprintf(sql, sizeof(sql), "%s", rows[at[0]].insert), np = 0;

    for (size_t i = 0; i < n; i++) {
        const kept_row *r = &rows[at[i]];
        len += (size_t)snprintf(sql + len, sizeof(sql) - len, "%s%s", i ? "," : "", r->row);
        if (len >= sizeof(sql))
            return SAGA_ERR_INVALID;
        memcpy(params + np, r->params, r->nparams * sizeof(*params));
        np += r->nparams;
    }
    return saga_db_exec(db, sql, params, np, NULL, NULL);
}

int saga_write_batch_flush(saga_db *db, saga_write_batch *b)
{
    size_t at[GROUP_MAX];
    int rc = SAGA_OK;

    b->flushing = true;
    for (size_t i = 0; i < b->n; i++)
        b->rows[i].flushed = false;
    /* shape by shape, in the order each shape first appears */
    for (size_t first = 0; rc == SAGA_OK && first < b->n; first++) {
        const kept_row *shape = &b->rows[first];
        if (shape->flushed)
            continue;
        size_t left = 0;
        for (size_t i = first; i < b->n; i++)
            left += !b->rows[i].flushed && b->rows[i].insert == shape->insert &&
                    b->rows[i].row == shape->row;
        size_t next = first;
        while (rc == SAGA_OK && left > 0) {
            size_t group = GROUP_MAX;
            while (group > left)
                group /= 2;
            size_t n = 0;
            for (; n < group; next++) {
                kept_row *r = &b->rows[next];
                if (!r->flushed && r->insert == shape->insert && r->row == shape->row) {
                    r->flushed = true;
                    at[n++] = next;
                }
            }
            rc = insert_group(db, b->rows, at, n);
            left -= n;
        }
    }
    b->flushing = false;
    if (rc && rc != SAGA_ERR_TRANSIENT)
        b->failed = true;
    rows_drop(b);
    return rc;
}

int write_batch_before(saga_db *db, const char *sql)
{
    saga_write_batch *b = attached_batch;
    if (!b || attached_db != db || b->n == 0 || b->flushing)
        return SAGA_OK;
    for (size_t i = 0; i < b->ntables; i++)
        if (sql_names_table(sql, b->tables[i]))
            return saga_write_batch_flush(db, b);
    return SAGA_OK;
}
