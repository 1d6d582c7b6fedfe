/* prefetch.c - a consumer batch's row locks taken at once, and the handlers'
 * point reads answered from them (see saga/prefetch.h): an interceptor of the
 * connection (saga_db_interceptor, db.h). */
#include "saga/prefetch.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "saga/err.h"
#include "db_row.h"
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

/* The rows kept for the connection p is on, until its transaction ends. */
struct saga_prefetch {
    saga_db_interceptor ic; /* ud: this object */
    kept_row *rows;
    size_t n, cap;
};

/* The tx_end hook: drops every kept row (the array stays for the next batch). */
static void prefetch_tx_end(void *ud)
{
    saga_prefetch *p = ud;
    for (size_t i = 0; i < p->n; i++)
        free(p->rows[i].mem);
    p->n = 0;
}

/* Makes room for one more kept row. */
static kept_row *kept_row_add(saga_prefetch *p)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 256;
        kept_row *rows = realloc(p->rows, cap * sizeof(*rows));
        if (!rows)
            return NULL;
        p->rows = rows;
        p->cap = cap;
    }
    return &p->rows[p->n];
}

typedef struct keep_ctx {
    saga_prefetch *p;
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
    kept_row *r = kept_row_add(k->p);
    if (!r)
        return k->rc = SAGA_ERR_NOMEM;
    size_t arrays = (ncols - 1) * (sizeof(*r->cols) + sizeof(*r->lens));
    char uuid_key[SAGA_TEXT_UUID_LEN + 1];
    if (k->query->uuid_key && !saga_row_uuid(row, 0, uuid_key))
        return k->rc = SAGA_ERR_INVALID; /* the key column is not BINARY(16) */
    for (size_t i = 0; i < ncols; i++)
        size += (i == 0 && k->query->uuid_key ? SAGA_TEXT_UUID_LEN : saga_row_len(row, i)) + 1;
    *r = (kept_row){.query = k->query, .ncols = ncols - 1};
    if (!(r->mem = malloc(arrays + size)))
        return k->rc = SAGA_ERR_NOMEM;
    r->cols = (const char **)(void *)r->mem;
    r->lens = (unsigned long *)(void *)(r->mem + (ncols - 1) * sizeof(*r->cols));
    char *at = r->mem + arrays;
    for (size_t i = 0; i < ncols; i++) {
        bool uuid = i == 0 && k->query->uuid_key;
        size_t len = uuid ? SAGA_TEXT_UUID_LEN : saga_row_len(row, i);
        const char *text = uuid ? uuid_key : saga_row_str(row, i);
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
    k->p->n++;
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
static int keep_absent(saga_prefetch *p, const saga_prefetch_query *q, const char *key)
{
    kept_row *r = kept_row_add(p);
    size_t len = strlen(key);
    char *mem = malloc(len + 1);
    if (!r || !mem) {
        free(mem);
        return SAGA_ERR_NOMEM;
    }
    memcpy(mem, key, len + 1);
    *r = (kept_row){.query = q, .key = mem, .key_len = len, .mem = mem};
    p->n++;
    return SAGA_OK;
}

/* One statement for the keys at keys[0..n) (n <= SAGA_DB_IN_LIST_MAX). */
static int prefetch_some(saga_prefetch *p, saga_db *db, const saga_prefetch_query *q,
                         const char *const *keys, size_t n)
{
    char sql[SQL_MAX];
    saga_param params[SAGA_DB_IN_LIST_MAX];
    size_t shape = saga_db_in_list(sql, sizeof(sql), q->batch_head, n, q->batch_tail);

    if (shape == 0)
        return SAGA_ERR_INVALID;
    for (size_t i = 0; i < shape; i++)
        params[i] = q->uuid_key ? SAGA_P_UUID(keys[i < n ? i : n - 1])
                                : SAGA_P_STR(keys[i < n ? i : n - 1]);
    keep_ctx k = {.p = p, .query = q, .rc = SAGA_OK};
    size_t first = p->n;
    int rc = saga_db_query(db, sql, params, shape, keep_row, &k);
    if (k.rc || rc || !q->keep_absent)
        return k.rc ? k.rc : rc;
    size_t found_end = p->n;
    for (size_t i = 0; i < n && rc == SAGA_OK; i++) {
        bool found = false;
        for (size_t r = first; r < found_end && !found; r++)
            found = same_key(p->rows[r].key, p->rows[r].key_len, keys[i], strlen(keys[i]));
        if (!found)
            rc = keep_absent(p, q, keys[i]);
    }
    return rc;
}

/* The prefetch hook: saga_db_prefetch. */
static int prefetch_read(void *ud, saga_db *db, const saga_prefetch_query *q,
                         const char *const *keys, size_t n)
{
    for (size_t at = 0; at < n; at += SAGA_DB_IN_LIST_MAX) {
        size_t some = n - at < SAGA_DB_IN_LIST_MAX ? n - at : SAGA_DB_IN_LIST_MAX;
        int rc = prefetch_some(ud, db, q, keys + at, some);
        if (rc)
            return rc;
    }
    return SAGA_OK;
}

/* The answer hook: saga_db_query_prefetched of q for key, from the rows kept. */
static bool prefetch_answer(void *ud, const saga_prefetch_query *q, const char *key, saga_row_fn fn,
                            void *fn_ud, int *rc)
{
    const saga_prefetch *p = ud;
    size_t key_len = strlen(key);
    MYSQL_BIND binds[COLS_MAX];
    unsigned long lengths[COLS_MAX];
    my_bool nulls[COLS_MAX];
    bool answered = false;

    *rc = SAGA_OK;
    for (size_t i = 0; i < p->n; i++) {
        const kept_row *r = &p->rows[i];
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
        if ((*rc = fn(&row, fn_ud)) != 0)
            break;
    }
    return answered;
}

/* The written hook: drops the kept rows the write may change, those of its table
 * whose key is one of its text parameters (strings and ids), or all of them if it
 * has none. */
static void prefetch_written(void *ud, const char *sql, const saga_param *params, size_t nparams)
{
    saga_prefetch *p = ud;
    const saga_prefetch_query *last = NULL;
    bool written = false;
    for (size_t i = 0; i < p->n; i++) {
        kept_row *r = &p->rows[i];
        if (r->query != last) {
            last = r->query;
            written = sql_names_table(sql, r->query->table);
        }
        if (!written || r->dropped)
            continue;
        bool any_string = false, named = false;
        for (size_t p = 0; p < nparams && !named; p++) {
            if (!saga_param_has_text(&params[p]))
                continue;
            any_string = true;
            named = same_key(r->key, r->key_len, params[p].ptr, params[p].len);
        }
        r->dropped = named || !any_string;
    }
}

saga_prefetch *saga_prefetch_new(void)
{
    saga_prefetch *p = calloc(1, sizeof(*p));
    if (p)
        p->ic = (saga_db_interceptor){.ud = p,
                                      .written = prefetch_written,
                                      .prefetch = prefetch_read,
                                      .answer = prefetch_answer,
                                      .tx_end = prefetch_tx_end};
    return p;
}

void saga_prefetch_free(saga_prefetch *p)
{
    if (!p)
        return;
    prefetch_tx_end(p);
    free(p->rows);
    free(p);
}

const saga_db_interceptor *saga_prefetch_interceptor(saga_prefetch *p)
{
    return p ? &p->ic : NULL;
}
