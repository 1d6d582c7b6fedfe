/* inbox.c - consumed event ids, recorded in the caller's transaction. */
#include "saga/inbox.h"

#include "saga/err.h"

int saga_inbox_claim(saga_db *db, const char *event_id, const char *event_type)
{
    uint64_t affected = 0;
    saga_param p[] = {SAGA_P_STR(event_id), SAGA_P_STR(event_type)};
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
