/* inbox.c - consumed event ids, recorded in the caller's transaction. */
#include "saga/inbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "saga/err.h"

int saga_inbox_claim(saga_db *db, const char *event_id, const char *event_type)
{
    uint64_t affected = 0;
    saga_param p[] = {SAGA_P_UUID(event_id), SAGA_P_STR(event_type)};
    /* INSERT IGNORE: a duplicate id inserts nothing and takes no error path */
    int rc = saga_db_exec(db, "INSERT IGNORE INTO inbox (event_id, event_type) VALUES (?, ?)", p,
                          2, &affected, NULL);
    if (rc)
        return rc;
    return affected == 1 ? SAGA_OK : SAGA_ERR_DUPLICATE;
}

int saga_inbox_prune(saga_db *db, long retention_s, long chunk, uint64_t *deleted)
{
    uint64_t total = 0, affected = 0;
    int rc;

    do {
        saga_param p[] = {SAGA_P_I64(retention_s), SAGA_P_I64(chunk)};
        rc = saga_db_exec(db,
                          "DELETE FROM inbox WHERE received_at < NOW(3) - INTERVAL ? SECOND"
                          " LIMIT ?",
                          p, 2, &affected, NULL);
        if (rc)
            break;
        total += affected;
    } while (affected == (uint64_t)chunk);
    if (deleted)
        *deleted = total;
    return rc;
}

/* --- claiming a batch --- */

/* Statements take ids in groups of these sizes, the last group padded by
 * repeating its last id: few distinct statements to prepare and cache. */
static const size_t claim_group_sizes[] = {4, 16, 64, 256};
#define CLAIM_GROUP_MAX 256
#define CLAIM_NSIZES (sizeof(claim_group_sizes) / sizeof(claim_group_sizes[0]))

static size_t claim_group_size(size_t remaining)
{
    for (size_t i = 0; i < CLAIM_NSIZES; i++)
        if (remaining <= claim_group_sizes[i])
            return claim_group_sizes[i];
    return CLAIM_GROUP_MAX;
}

/* "<head>" followed by `rows` copies of "<row>" separated by commas, and "<tail>". */
static char *claim_sql(const char *head, const char *row, size_t rows, const char *tail)
{
    size_t len = strlen(head) + rows * (strlen(row) + 1) + strlen(tail) + 1;
    char *sql = malloc(len);
    if (sql && !saga_db_sql_list(sql, len, head, row, rows, tail)) {
        free(sql); /* cannot happen: len is what it writes */
        sql = NULL;
    }
    return sql;
}

typedef struct claim_lookup {
    const char *const *ids;
    size_t n;
    bool *seen_before;
} claim_lookup;

static int claim_mark_seen(const saga_row *row, void *ud)
{
    claim_lookup *l = ud;
    char id[SAGA_TEXT_UUID_LEN + 1];
    if (!saga_row_uuid(row, 0, id))
        return 0;
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->ids[i], id) == 0)
            l->seen_before[i] = true;
    return 0;
}

/* One group of at most CLAIM_GROUP_MAX ids: look them up, insert the new ones. */
static int claim_group(saga_db *db, const char *const *ids, const char *const *types, size_t n,
                       bool *seen_before)
{
    size_t size = claim_group_size(n);
    saga_param params[2 * CLAIM_GROUP_MAX];
    char *sql = NULL;
    int rc = SAGA_ERR_NOMEM;

    for (size_t i = 0; i < size; i++)
        params[i] = SAGA_P_UUID(ids[i < n ? i : n - 1]);
    if (!(sql = claim_sql("SELECT event_id FROM inbox WHERE event_id IN (", "?", size, ")")))
        return SAGA_ERR_NOMEM;
    claim_lookup lookup = {ids, n, seen_before};
    rc = saga_db_query(db, sql, params, size, claim_mark_seen, &lookup);
    free(sql);
    if (rc)
        return rc;

    size_t fresh = 0, last = 0;
    for (size_t i = 0; i < n; i++) {
        if (seen_before[i])
            continue;
        params[2 * fresh] = SAGA_P_UUID(ids[i]);
        params[2 * fresh + 1] = SAGA_P_STR(types[i]);
        last = fresh++;
    }
    if (fresh == 0)
        return SAGA_OK;
    size = claim_group_size(fresh);
    for (size_t i = fresh; i < size; i++) {
        params[2 * i] = params[2 * last];
        params[2 * i + 1] = params[2 * last + 1];
    }
    if (!(sql = claim_sql("INSERT IGNORE INTO inbox (event_id, event_type) VALUES ", "(?,?)",
                          size, "")))
        return SAGA_ERR_NOMEM;
    uint64_t affected = 0;
    rc = saga_db_exec(db, sql, params, 2 * size, &affected, NULL);
    free(sql);
    if (rc)
        return rc;
    /* fewer rows than new ids: another consumer took one since the look-up */
    return affected == fresh ? SAGA_OK : SAGA_ERR_TRANSIENT;
}

int saga_inbox_claim_batch(saga_db *db, const char *const *ids, const char *const *types, size_t n,
                           bool *seen_before)
{
    if (n == 1) { /* one round trip rather than a look-up and an insert */
        int rc = saga_inbox_claim(db, ids[0], types[0]);
        seen_before[0] = rc == SAGA_ERR_DUPLICATE;
        return rc == SAGA_ERR_DUPLICATE ? SAGA_OK : rc;
    }
    /* an id repeated inside the batch (a republished event) is applied once */
    for (size_t i = 0; i < n; i++) {
        seen_before[i] = false;
        for (size_t j = 0; j < i && !seen_before[i]; j++)
            seen_before[i] = strcmp(ids[i], ids[j]) == 0;
    }
    for (size_t at = 0; at < n; at += CLAIM_GROUP_MAX) {
        size_t len = n - at < CLAIM_GROUP_MAX ? n - at : CLAIM_GROUP_MAX;
        int rc = claim_group(db, ids + at, types + at, len, seen_before + at);
        if (rc)
            return rc;
    }
    return SAGA_OK;
}
