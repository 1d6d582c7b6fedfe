/* write_batch.c - statements kept during a transaction, written together (see
 * write_batch.h): an interceptor of the connection (saga_db_interceptor, db.h). */
#include "saga/write_batch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "saga/err.h"
#include "db_bulk.h"
#include "sql_names.h"

/* Most rows in one INSERT; groups are powers of two up to this. */
#define GROUP_MAX 64
/* Most statements in one bulk execution of an UPDATE. */
#define BULK_MAX 256
/* Most parameters of one row. */
#define ROW_PARAMS_MAX SAGA_DB_WRITE_PARAMS_MAX
/* Longest statement: the head plus GROUP_MAX rows and commas. */
#define SQL_MAX 8192
/* Most tables, and statement shapes, the kept statements of one batch have. */
#define TABLES_MAX 16
#define SHAPES_MAX 32
#define TABLE_NAME_MAX 64

/* A statement shape: its rows are written together, shapes in the order each
 * first appeared. */
typedef struct kept_shape {
    saga_db_write_kind kind;
    const char *sql; /* the INSERT up to VALUES, or the UPDATE; by pointer: a constant */
    const char *row; /* an INSERT's row tuple */
    size_t table;
} kept_shape;

typedef struct kept_row {
    size_t shape;
    int key; /* an UPDATE's parameter holding its row's key; -1 for an INSERT */
    size_t nparams;
    saga_param params[ROW_PARAMS_MAX]; /* STR and BLOB data owned (malloc'd copies) */
} kept_row;

struct saga_write_batch {
    saga_db_interceptor ic; /* ud: this batch */
    kept_row *rows;
    size_t n, cap;
    kept_shape shapes[SHAPES_MAX];
    size_t nshapes;
    /* the tables the kept statements write: a statement naming one flushes first */
    char tables[TABLES_MAX][TABLE_NAME_MAX];
    size_t ntables;
    bool flushing;
    bool failed; /* a flush failed other than transiently since the last discard */
};

static int batch_before(void *ud, saga_db *db, const char *sql);
static int batch_keep(void *ud, saga_db *db, const saga_db_write *w, bool *kept);

saga_write_batch *saga_write_batch_new(void)
{
    saga_write_batch *b = calloc(1, sizeof(*b));
    if (b)
        b->ic = (saga_db_interceptor){.ud = b, .before = batch_before, .keep = batch_keep};
    return b;
}

const saga_db_interceptor *saga_write_batch_interceptor(saga_write_batch *b)
{
    return b ? &b->ic : NULL;
}

static void kept_row_clear(kept_row *r)
{
    for (size_t i = 0; i < r->nparams; i++)
        if (r->params[i].type == SAGA_PARAM_STR || r->params[i].type == SAGA_PARAM_BLOB ||
            r->params[i].type == SAGA_PARAM_UUID)
            free((void *)r->params[i].ptr);
    r->nparams = 0;
}

/* Drops the kept statements (the failed flag stays until saga_write_batch_discard). */
static void rows_drop(saga_write_batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        kept_row_clear(&b->rows[i]);
    b->n = 0;
    b->nshapes = 0;
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
    free(b->rows);
    free(b);
}

/* The index of the table after `word` ("INTO ", "UPDATE ") in sql, noted if new;
 * false if it cannot be read or there are too many tables. */
static bool table_note(saga_write_batch *b, const char *sql, const char *word, size_t *table)
{
    char name[TABLE_NAME_MAX];

    if (!sql_names_table_after(sql, word, name, sizeof(name)))
        return false;
    for (*table = 0; *table < b->ntables; ++*table)
        if (strcmp(b->tables[*table], name) == 0)
            return true;
    if (b->ntables == TABLES_MAX)
        return false;
    memcpy(b->tables[b->ntables], name, sizeof(name));
    *table = b->ntables++;
    return true;
}

/* The index of a statement shape, noted if new; false if there are too many. */
static bool shape_note(saga_write_batch *b, const kept_shape *shape, size_t *at)
{
    for (*at = 0; *at < b->nshapes; ++*at)
        if (b->shapes[*at].sql == shape->sql && b->shapes[*at].row == shape->row &&
            b->shapes[*at].kind == shape->kind)
            return true;
    if (b->nshapes == SHAPES_MAX)
        return false;
    b->shapes[ *at = b->nshapes++] = *shape;
    return true;
}

static bool param_is(const saga_param *p, const saga_param *key)
{
    return saga_param_has_text(p) && p->len == key->len && memcmp(p->ptr, key->ptr, p->len) == 0;
}

/* Whether an UPDATE keyed by `key` and the statement q may write the same row:
 * q has the key among its text parameters (strings, ids). */
static bool names_key(const saga_param *key, const saga_param *params, size_t nparams)
{
    for (size_t i = 0; i < nparams; i++)
        if (param_is(&params[i], key))
            return true;
    return false;
}

/* The flush writes shape by shape, so a statement of shape s would be written
 * before every kept statement of a later shape. True if one of those is of the
 * same table and may write the same row (one of the two an UPDATE naming a key the
 * other has): the order would matter, so the kept ones must be written first. */
static bool would_overtake(const saga_write_batch *b, size_t shape, int key,
                           const saga_param *params, size_t nparams)
{
    size_t table = b->shapes[shape].table, later = shape + 1;
    while (later < b->nshapes && b->shapes[later].table != table)
        later++;
    if (later == b->nshapes)
        return false; /* the usual case: no later shape of this table, no scan */
    for (size_t i = 0; i < b->n; i++) {
        const kept_row *q = &b->rows[i];
        if (q->shape <= shape || b->shapes[q->shape].table != table)
            continue;
        if (key >= 0 && names_key(&params[key], q->params, q->nparams))
            return true;
        if (q->key >= 0 && names_key(&q->params[q->key], params, nparams))
            return true;
    }
    return false;
}

/* Keeps a copy of one statement's parameters in b. */
static int keep(saga_write_batch *b, size_t shape, int key, const saga_param *params,
                size_t nparams)
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
    *k = (kept_row){.shape = shape, .key = key};
    for (size_t i = 0; i < nparams; i++) {
        saga_param p = params[i];
        if ((p.type == SAGA_PARAM_STR || p.type == SAGA_PARAM_BLOB || p.type == SAGA_PARAM_UUID) &&
            p.ptr) {
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

/* Keeps the statement in b if it can: *kept says whether it did (db tells the
 * other interceptors, the batch read among them, of the kept write). */
static int try_keep(saga_db *db, saga_write_batch *b, kept_shape shape, const char *table_word,
                    int key, const saga_param *params, size_t nparams, bool *kept)
{
    size_t at;
    int rc;

    *kept = false;
    if (!table_note(b, shape.sql, table_word, &shape.table) || !shape_note(b, &shape, &at))
        return SAGA_OK;
    if (would_overtake(b, at, key, params, nparams)) {
        if ((rc = saga_write_batch_flush(db, b)))
            return rc;
        return try_keep(db, b, shape, table_word, key, params, nparams, kept);
    }
    if ((rc = keep(b, at, key, params, nparams)))
        return rc;
    *kept = true;
    return SAGA_OK;
}

/* The keep hook: saga_db_insert's row, saga_db_update's statement (db checked
 * their parameters). Not while the batch is being written. */
static int batch_keep(void *ud, saga_db *db, const saga_db_write *w, bool *kept)
{
    saga_write_batch *b = ud;
    kept_shape shape = {.kind = w->kind, .sql = w->sql, .row = w->row};
    bool insert = w->kind == SAGA_DB_WRITE_INSERT;

    *kept = false;
    if (b->flushing)
        return SAGA_OK;
    return try_keep(db, b, shape, insert ? "INTO " : "UPDATE ", insert ? -1 : (int)w->key,
                    w->params, w->nparams, kept);
}

/* One INSERT of the n rows at rows[at[0]], rows[at[1]], ... */
static int insert_group(saga_db *db, const kept_shape *shape, const kept_row *rows,
                        const size_t *at, size_t n)
{
    char sql[SQL_MAX];
    saga_param params[GROUP_MAX * ROW_PARAMS_MAX];
    size_t np = 0;

    if (!saga_db_sql_list(sql, sizeof(sql), shape->sql, shape->row, n, ""))
        return SAGA_ERR_INVALID;
    for (size_t i = 0; i < n; i++) {
        const kept_row *r = &rows[at[i]];
        memcpy(params + np, r->params, r->nparams * sizeof(*params));
        np += r->nparams;
    }
    return saga_db_exec(db, sql, params, np, NULL, NULL);
}

/* One bulk execution of the UPDATE for the n statements at rows[at[0]], ... */
static int update_group(saga_db *db, const kept_shape *shape, const kept_row *rows,
                        const size_t *at, size_t n)
{
    const saga_param *params[BULK_MAX];
    uint64_t affected = 0;

    for (size_t i = 0; i < n; i++)
        params[i] = rows[at[i]].params;
    int rc = db_exec_bulk(db, shape->sql, params, n, rows[at[0]].nparams, &affected);
    /* one of them changed no row: the rerun without the batch tells its caller */
    if (rc == SAGA_OK && shape->kind == SAGA_DB_WRITE_UPDATE_ONE && affected != n)
        rc = SAGA_ERR_CONFLICT;
    return rc;
}

/* Writes the kept statements of one shape, in the order they were kept. */
static int flush_shape(saga_db *db, saga_write_batch *b, size_t shape)
{
    const kept_shape *s = &b->shapes[shape];
    size_t at[BULK_MAX], left = 0, next = 0;
    int rc = SAGA_OK;

    for (size_t i = 0; i < b->n; i++)
        left += b->rows[i].shape == shape;
    while (rc == SAGA_OK && left > 0) {
        size_t group = s->kind == SAGA_DB_WRITE_INSERT ? GROUP_MAX : BULK_MAX;
        if (s->kind == SAGA_DB_WRITE_INSERT) /* few INSERT texts: powers of two */
            while (group > left)
                group /= 2;
        size_t n = 0;
        for (; n < group && next < b->n; next++)
            if (b->rows[next].shape == shape)
                at[n++] = next;
        rc = s->kind == SAGA_DB_WRITE_INSERT ? insert_group(db, s, b->rows, at, n)
                                             : update_group(db, s, b->rows, at, n);
        left -= n;
    }
    return rc;
}

int saga_write_batch_flush(saga_db *db, saga_write_batch *b)
{
    int rc = SAGA_OK;

    b->flushing = true;
    for (size_t shape = 0; rc == SAGA_OK && shape < b->nshapes; shape++)
        rc = flush_shape(db, b, shape);
    b->flushing = false;
    if (rc && rc != SAGA_ERR_TRANSIENT)
        b->failed = true;
    rows_drop(b);
    return rc;
}

/* The before hook: a statement that names a table with kept writes writes them
 * first, so that it sees them (the batch's own statements, while it is written,
 * do not). */
static int batch_before(void *ud, saga_db *db, const char *sql)
{
    saga_write_batch *b = ud;
    if (b->flushing || b->n == 0)
        return SAGA_OK;
    for (size_t i = 0; i < b->ntables; i++)
        if (sql_names_table(sql, b->tables[i]))
            return saga_write_batch_flush(db, b);
    return SAGA_OK;
}
