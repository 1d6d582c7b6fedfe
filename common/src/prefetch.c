/* prefetch.c - a consumer batch's row locks taken at once, and the handlers'
 * point reads answered from them (see saga/prefetch.h). */
#include "saga/prefetch.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "saga/err.h"
#include "db_row.h"
#include "prefetch_hooks.h"
#include "sql_names.h"

/* Most columns a kept row may have. */
#define COLS_MAX 32
#define SQL_MAX 4096

/* One row of a batch read: its key (column 0) and point_sql's columns (1...);
 * or, with ncols 0, a key the read found no row for. */
typedef struct kept_row {
    const saga_prefetch_query *query;
    const char *key;
    size_t key_len;
    size_t ncols;        /* 0: the key has no row (saga_prefetch_query.keep_absent) */
    const char **cols;   /* ncols texts; NULL: SQL NULL */
    unsigned long *lens; /* ncols lengths */
    bool dropped;
    char *mem;           /* one allocation: cols, lens, then the key and the texts */
} kept_row;

/* The rows kept in this thread, and the connection they were read on. */
typedef struct kept_rows {
    const saga_db *db;
    kept_row *rows;
    size_t n, cap;
} kept_rows;

static _Thread_local kept_rows kept;

void prefetch_end(const saga_db *db)
{
    if (kept.db != db)
        return;
    for (size_t i = 0; i < kept.n; i++)
        free(kept.rows[i].mem);
    /* freed, not kept for the next batch: a thread's storage has no destructor */
    free(kept.rows);
    kept = (kept_rows){0};
}

/* Makes room for one more kept row. */
static kept_row *kept_row_add(void)
{
    if (kept.n == kept.cap) {
        size_t cap = kept.cap ? 2 * kept.cap : 256;
        kept_row *rows = realloc(kept.rows, cap * sizeof(*rows));
        if (!rows)
            return NULL;
        kept.rows = rows;
        kept.cap = cap;
    }
    return &kept.rows[kept.n];
}

typedef struct keep_ctx {
    const saga_prefetch_query *query;
    int rc;
} keep_ctx;

/* Keeps one row of the batch read. */
static int keep_row(const saga_row *row, void *ud)
{
    keep_ctx *k = ud;
    size_t ncols = saga_row_count(row), size = 0;

    if (ncols < 2 || ncols - 1 > COLS_MAX || saga_row_is_null(row, 0))
        return k->rc = SAGA_ERR_INVALID; /* not the shape saga_prefetch_query asks for */
    kept_row *r = kept_row_add();
    if (!r)
        return k->rc = SAGA_ERR_NOMEM;
    size_t arrays = (ncols - 1) * (sizeof(*r->cols) + sizeof(*r->lens));
    for (size_t i = 0; i < ncols; i++)
        size += saga_row_len(row, i) + 1;
    *r = (kept_row){.query = k->query, .ncols = ncols - 1};
    if (!(r->mem = malloc(arrays + size)))
        return k->rc = SAGA_ERR_NOMEM;
    r->cols = (const char **)(void *)r->mem;
    r->lens = (unsigned long *)(void *)(r->mem + (ncols - 1) * sizeof(*r->cols));
    char *at = r->mem + arrays;
    for (size_t i = 0; i < ncols; i++) {
        size_t len = saga_row_len(row, i);
        const char *text = saga_row_str(row, i);
        if (text) {
            memcpy(at, text, len);
            at[len] = '\0';
        }
        if (i == 0) {
            r->key = at;
            r->key_len = len;
        } else {
            r->cols[i - 1] = text ? at : NULL;
            r->lens[i - 1] = (unsigned long)len;
        }
        at += len + 1;
    }
    kept.n++;
    return 0;
}

/* Whether a key and a parameter may name the same row: equal but for ASCII case
 * and trailing spaces, as a case-insensitive PAD SPACE collation compares them
 * (never too few: a row dropped needlessly is only read again). */
static bool same_key(const char *a, size_t alen, const char *b, size_t blen)
{
    while (alen > 0 && a[alen - 1] == ' ')
        alen--;
    while (blen > 0 && b[blen - 1] == ' ')
        blen--;
    if (alen != blen)
        return false;
    for (size_t i = 0; i < alen; i++)
        if (tolower((unsigned char)a[i]) != tolower((unsigned char)b[i]))
            return false;
    return true;
}

/* Keeps "no row" for key. */
static int keep_absent(const saga_prefetch_query *q, const char *key)
{
    kept_row *r = kept_row_add();
    size_t len = strlen(key);
    char *mem = malloc(len + 1);
    if (!r || !mem) {
        free(mem);
        return SAGA_ERR_NOMEM;
    }
    memcpy(mem, key, len + 1);
    *r = (kept_row){.query = q, .key = mem, .key_len = len, .mem = mem};
    kept.n++;
    return SAGA_OK;
}

/* One statement for the keys at keys[0..n) (n <= SAGA_DB_IN_LIST_MAX). */
static int prefetch_some(saga_db *db, const saga_prefetch_query *q, const char *const *keys,
                         size_t n)
{
    char sql[SQL_MAX];
    saga_param params[SAGA_DB_IN_LIST_MAX];
    size_t shape = saga_db_in_list(sql, sizeof(sql), q->batch_head, n, q->batch_tail);

    if (shape == 0)
        return SAGA_ERR_INVALID;
    for (size_t i = 0; i < shape; i++)
        params[i] = SAGA_P_STR(keys[i < n ? i : n - 1]);
    keep_ctx k = {.query = q, .rc = SAGA_OK};
    size_t first = kept.n;
    int rc = saga_db_query(db, sql, params, shape, keep_row, &k);
    if (k.rc || rc || !q->keep_absent)
        return k.rc ? k.rc : rc;
    size_t found_end = kept.n;
    for (size_t i = 0; i < n && rc == SAGA_OK; i++) {
        bool found = false;
        for (size_t r = first; r < found_end && !found; r++)
            found = same_key(kept.rows[r].key, kept.rows[r].key_len, keys[i], strlen(keys[i]));
        if (!found)
            rc = keep_absent(q, keys[i]);
    }
    return rc;
}

int saga_db_prefetch(saga_db *db, const saga_prefetch_query *q, const char *const *keys, size_t n)
{
    if (kept.db != db) {
        prefetch_end(kept.db);
        kept.db = db;
    }
    for (size_t at = 0; at < n; at += SAGA_DB_IN_LIST_MAX) {
        size_t some = n - at < SAGA_DB_IN_LIST_MAX ? n - at : SAGA_DB_IN_LIST_MAX;
        int rc = prefetch_some(db, q, keys + at, some);
        if (rc)
            return rc;
    }
    return SAGA_OK;
}

/* The declared query whose point read sql is, among the kept rows' queries. */
static const saga_prefetch_query *query_of(const char *sql)
{
    const saga_prefetch_query *last = NULL;
    for (size_t i = 0; i < kept.n; i++) {
        const saga_prefetch_query *q = kept.rows[i].query;
        if (q == last)
            continue;
        if (q->point_sql == sql || strcmp(q->point_sql, sql) == 0)
            return q;
        last = q;
    }
    return NULL;
}

bool prefetch_answer(const saga_db *db, const char *sql, const saga_param *params, size_t nparams,
                     saga_row_fn fn, void *ud, int *rc)
{
    if (kept.n == 0 || kept.db != db || nparams != 1 || params[0].type != SAGA_PARAM_STR ||
        !params[0].ptr)
        return false;
    const saga_prefetch_query *q = query_of(sql);
    if (!q)
        return false;
    const char *key = params[0].ptr;
    size_t key_len = params[0].len;
    MYSQL_BIND binds[COLS_MAX];
    unsigned long lengths[COLS_MAX];
    my_bool nulls[COLS_MAX];
    bool answered = false;

    *rc = SAGA_OK;
    for (size_t i = 0; i < kept.n; i++) {
        const kept_row *r = &kept.rows[i];
        if (r->query != q || r->dropped || r->key_len != key_len ||
            memcmp(r->key, key, key_len) != 0)
            continue;
        answered = true;
        if (r->ncols == 0)
            continue; /* the key has no row */
        memset(binds, 0, r->ncols * sizeof(*binds));
        for (size_t c = 0; c < r->ncols; c++) {
            binds[c].buffer = (void *)r->cols[c];
            lengths[c] = r->lens[c];
            nulls[c] = r->cols[c] == NULL;
        }
        struct saga_row row = {
            .ncols = r->ncols, .binds = binds, .lengths = lengths, .nulls = nulls};
        if ((*rc = fn(&row, ud)) != 0)
            break;
    }
    return answered;
}

void prefetch_written(const saga_db *db, const char *sql, const saga_param *params, size_t nparams)
{
    if (kept.n == 0 || kept.db != db)
        return;
    const saga_prefetch_query *last = NULL;
    bool written = false;
    for (size_t i = 0; i < kept.n; i++) {
        kept_row *r = &kept.rows[i];
        if (r->query != last) {
            last = r->query;
            written = sql_names_table(sql, r->query->table);
        }
        if (!written || r->dropped)
            continue;
        bool any_string = false, named = false;
        for (size_t p = 0; p < nparams && !named; p++) {
            if (params[p].type != SAGA_PARAM_STR || !params[p].ptr)
                continue;
            any_string = true;
            named = same_key(r->key, r->key_len, params[p].ptr, params[p].len);
        }
        r->dropped = named || !any_string;
    }
}
